#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file through one fixed buffer so memory stays bounded whatever the file size.
/// A record larger than the buffer grows it, up to `maximumRecord`.
final class CaptureSource {
    static let maximumRecord = 16 << 20

    let fd: Int32
    let path: String
    private(set) var buffer: UnsafeMutableRawPointer
    private(set) var capacity: Int
    private var start = 0
    private var end = 0
    private var eof = false
    /// File offset of `buffer[start]`.
    private(set) var offset: UInt64 = 0

    init(path: String, bufferSize: Int) throws(CaptureError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CaptureError(.cannotOpen(errno: errno), offset: 0, packetsRead: 0, path: path) }
        self.fd = fd
        self.path = path
        capacity = max(bufferSize, 16)
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    var available: Int { end - start }

    /// Makes `count` bytes available at the cursor; false when the file ends first.
    @inline(__always)
    func ensure(_ count: Int, packetsRead: Int) throws(CaptureError) -> Bool {
        if end - start >= count { return true }
        return try fill(count, packetsRead: packetsRead)
    }

    @inline(never)
    private func fill(_ count: Int, packetsRead: Int) throws(CaptureError) -> Bool {
        guard count <= Self.maximumRecord else {
            throw CaptureError(.badRecordLength, offset: offset, packetsRead: packetsRead, path: path)
        }
        if count > capacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
            grown.copyMemory(from: buffer + start, byteCount: end - start)
            buffer.deallocate()
            buffer = grown
            capacity = count
            end -= start
            start = 0
        } else if start > 0 {
            (buffer).copyMemory(from: buffer + start, byteCount: end - start)
            end -= start
            start = 0
        }
        while end - start < count && !eof {
            let n = read(fd, buffer + end, capacity - end)
            if n < 0 {
                if errno == EINTR { continue }
                throw CaptureError(.readFailed(errno: errno), offset: offset, packetsRead: packetsRead, path: path)
            }
            if n == 0 { eof = true } else { end += n }
        }
        return end - start >= count
    }

    /// The `count` bytes at the cursor (after a successful `ensure`).
    @inline(__always)
    func bytes(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: buffer + start, count: count)
    }

    @inline(__always)
    func consume(_ count: Int) {
        start += count
        offset += UInt64(count)
    }

    /// Skips `count` bytes without holding them in memory; false when the file ends first.
    func skip(_ count: Int, packetsRead: Int) throws(CaptureError) -> Bool {
        var left = count
        while left > 0 {
            if available == 0 {
                guard try ensure(min(left, capacity), packetsRead: packetsRead) || available > 0 else { return false }
            }
            let n = min(left, available)
            consume(n)
            left -= n
        }
        return true
    }
}

extension UnsafeRawBufferPointer {
    /// A 16/32-bit field in the file's byte order.
    @inline(__always)
    func u16(_ offset: Int, swapped: Bool) -> UInt16 {
        let v = loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return swapped ? v.byteSwapped : v
    }

    @inline(__always)
    func u32(_ offset: Int, swapped: Bool) -> UInt32 {
        let v = loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return swapped ? v.byteSwapped : v
    }
}
