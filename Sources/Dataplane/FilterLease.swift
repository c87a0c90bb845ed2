import Foundation

/// A running sidecar's claim on a filter: an exclusive `flock` on a file in the state directory
/// that holds its pid. The kernel drops the lock when the process dies (even by `kill -9`), so a
/// stale claim cannot outlive its holder. `holon filter detach` refuses while a claim is held,
/// and a second sidecar on the same filter is refused.
public final class FilterLease: @unchecked Sendable {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }
    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    static func path(_ o: DataplaneOptions) -> String { o.stateFile + ".sidecar" }

    /// Takes the claim, or throws ``DataplaneError/inUse(pid:)`` naming the holder.
    public static func acquire(_ o: DataplaneOptions) throws(DataplaneError) -> FilterLease {
        try? FileManager.default.createDirectory(atPath: o.stateDirectory, withIntermediateDirectories: true)
        let p = path(o)
        let fd = open(p, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .stateFile("\(p): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            close(fd)
            if e == EWOULDBLOCK { throw .inUse(pid: holder(o) ?? 0) }
            throw .stateFile("locking \(p): \(String(cString: strerror(e)))")
        }
        let pid = "\(getpid())\n"
        ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return FilterLease(fd: fd)
    }

    /// The pid of the sidecar holding the filter, nil when none does.
    public static func holder(_ o: DataplaneOptions) -> Int32? {
        let fd = open(path(o), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // A shared lock is refused only while a holder has the exclusive one.
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
        let text = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
