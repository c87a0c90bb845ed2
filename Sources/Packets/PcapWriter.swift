#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import class Foundation.FileHandle

/// Writes a classic pcap file. To a path it writes a temporary file beside it and renames it on
/// ``close()``, so readers never see half a file; to a file descriptor or `FileHandle` it streams.
public final class PcapWriter {
    public let linkType: LinkType
    public let nanosecondTimestamps: Bool
    public let bigEndian: Bool
    public private(set) var packetsWritten = 0

    private let fd: Int32
    private let ownsDescriptor: Bool
    private let finalPath: String?
    private let tempPath: String?
    private var buffer: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    private var bytesWritten: UInt64 = 0
    private var closed = false

    /// Creates `path` atomically: nothing appears there until ``close()`` succeeds.
    public convenience init(path: String, linkType: LinkType = .ethernet, nanosecondTimestamps: Bool = true,
                            bigEndian: Bool = false, snapLength: UInt32 = 262_144) throws(CaptureError) {
        let temp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CaptureError(.cannotOpen(errno: errno), offset: 0, packetsRead: 0, path: path) }
        try self.init(fd: fd, owned: true, finalPath: path, tempPath: temp, capacity: 1 << 20, linkType: linkType,
                      nanosecondTimestamps: nanosecondTimestamps, bigEndian: bigEndian, snapLength: snapLength)
    }

    /// Streams to an open descriptor (a pipe, stdout); the caller keeps ownership of it.
    public convenience init(fileDescriptor: Int32, linkType: LinkType = .ethernet, nanosecondTimestamps: Bool = true,
                            bigEndian: Bool = false, snapLength: UInt32 = 262_144) throws(CaptureError) {
        try self.init(fd: fileDescriptor, owned: false, finalPath: nil, tempPath: nil, capacity: 1 << 16,
                      linkType: linkType, nanosecondTimestamps: nanosecondTimestamps, bigEndian: bigEndian,
                      snapLength: snapLength)
    }

    private init(fd: Int32, owned: Bool, finalPath: String?, tempPath: String?, capacity: Int, linkType: LinkType,
                 nanosecondTimestamps: Bool, bigEndian: Bool, snapLength: UInt32) throws(CaptureError) {
        self.fd = fd
        ownsDescriptor = owned
        self.finalPath = finalPath
        self.tempPath = tempPath
        self.linkType = linkType
        self.nanosecondTimestamps = nanosecondTimestamps
        self.bigEndian = bigEndian
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 16)
        try writeHeader(snapLength: snapLength)
    }

    public convenience init(fileHandle: FileHandle, linkType: LinkType = .ethernet,
                            nanosecondTimestamps: Bool = true) throws(CaptureError) {
        try self.init(fileDescriptor: fileHandle.fileDescriptor, linkType: linkType,
                      nanosecondTimestamps: nanosecondTimestamps)
    }

    deinit {
        if !closed {
            try? flush()
            if ownsDescriptor { Glibc.close(fd) }
            // An unclosed atomic writer was abandoned: leave no partial file behind.
            if let tempPath { unlink(tempPath) }
        }
        buffer.deallocate()
    }

    @inline(__always)
    private func put32(_ v: UInt32, at offset: Int) {
        buffer.storeBytes(of: bigEndian ? v.bigEndian : v.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    private func writeHeader(snapLength: UInt32) throws(CaptureError) {
        put32(nanosecondTimestamps ? PcapMagic.nanoseconds : PcapMagic.microseconds, at: 0)
        buffer.storeBytes(of: bigEndian ? UInt16(2).bigEndian : UInt16(2).littleEndian, toByteOffset: 4, as: UInt16.self)
        buffer.storeBytes(of: bigEndian ? UInt16(4).bigEndian : UInt16(4).littleEndian, toByteOffset: 6, as: UInt16.self)
        put32(0, at: 8)
        put32(0, at: 12)
        put32(snapLength, at: 16)
        put32(linkType.rawValue, at: 20)
        used = 24
    }

    /// Appends one packet. `originalLength` defaults to the bytes given (nothing truncated).
    public func write(_ bytes: UnsafeRawBufferPointer, timestamp: UInt64, originalLength: Int? = nil) throws(CaptureError) {
        guard !closed else { throw CaptureError(.closed, offset: bytesWritten, packetsRead: packetsWritten, path: finalPath) }
        let need = 16 + bytes.count
        if capacity - used < need { try flush() }
        if need > capacity {
            // Larger than the buffer: header through the buffer, then the bytes directly.
            writeRecordHeader(bytes.count, timestamp: timestamp, originalLength: originalLength)
            try flush()
            try writeAll(bytes)
            packetsWritten += 1
            return
        }
        writeRecordHeader(bytes.count, timestamp: timestamp, originalLength: originalLength)
        if let base = bytes.baseAddress { (buffer + used).copyMemory(from: base, byteCount: bytes.count) }
        used += bytes.count
        packetsWritten += 1
    }

    public func write(_ bytes: [UInt8], timestamp: UInt64, originalLength: Int? = nil) throws(CaptureError) {
        let failure: CaptureError? = bytes.withUnsafeBytes { b in
            do throws(CaptureError) { try write(b, timestamp: timestamp, originalLength: originalLength) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    @inline(__always)
    private func writeRecordHeader(_ length: Int, timestamp: UInt64, originalLength: Int?) {
        let sec = UInt32(truncatingIfNeeded: timestamp / 1_000_000_000)
        let ns = UInt32(timestamp % 1_000_000_000)
        put32(sec, at: used)
        put32(nanosecondTimestamps ? ns : ns / 1000, at: used + 4)
        put32(UInt32(truncatingIfNeeded: length), at: used + 8)
        put32(UInt32(truncatingIfNeeded: max(originalLength ?? length, length)), at: used + 12)
        used += 16
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(CaptureError) {
        var at = 0
        while at < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + at, bytes.count - at)
            if n < 0 {
                if errno == EINTR { continue }
                throw CaptureError(.writeFailed(errno: errno), offset: bytesWritten, packetsRead: packetsWritten, path: finalPath)
            }
            at += n
            bytesWritten += UInt64(n)
        }
    }

    /// Hands buffered records to the kernel.
    public func flush() throws(CaptureError) {
        guard used > 0 else { return }
        let n = used
        used = 0
        try writeAll(UnsafeRawBufferPointer(start: buffer, count: n))
    }

    /// Flushes, and for a path-backed writer syncs and renames the temporary file into place.
    public func close() throws(CaptureError) {
        guard !closed else { return }
        closed = true
        do {
            try flush()
        } catch {
            if ownsDescriptor { Glibc.close(fd) }
            if let tempPath { unlink(tempPath) }
            throw error
        }
        guard ownsDescriptor, let tempPath, let finalPath else { return }
        let synced = fsync(fd) == 0 ? 0 : errno
        Glibc.close(fd)
        guard synced == 0, rename(tempPath, finalPath) == 0 else {
            let e = synced != 0 ? synced : errno
            unlink(tempPath)
            throw CaptureError(.writeFailed(errno: e), offset: bytesWritten, packetsRead: packetsWritten, path: finalPath)
        }
    }
}
