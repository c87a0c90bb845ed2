import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Saving a snapshot so that a crash at any moment leaves either the previous file or the new
/// one, never a mix: write a temporary file beside it, flush it to the disk, rename it over the
/// old one (atomic on POSIX file systems), then flush the directory so the rename itself lasts.
extension DetectorSnapshot {
    /// Writes the snapshot to `path` atomically (creating missing directories, mode 0755; the
    /// file is 0600: it says what the protected network's traffic looks like).
    public func write(to path: String) throws(SnapshotError) {
        let dir = try Self.directory(of: path)
        let temp = "\(path).tmp.\(getpid())"
        let bytes = encoded()
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: temp, reason: Self.errnoText("open")) }
        var done = 0
        let failure: String? = bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return Self.errnoText("write")
                }
                done += n
            }
            return fsync(fd) == 0 ? nil : Self.errnoText("fsync")
        }
        close(fd)
        if let failure {
            unlink(temp)
            throw .io(path: temp, reason: failure)
        }
        guard rename(temp, path) == 0 else {
            let why = Self.errnoText("rename")
            unlink(temp)
            throw .io(path: path, reason: why)
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Whether a snapshot can be written to `path` now: its directory made (as ``write(to:)``
    /// makes it) and a file created there and removed. Checked when a run starts, so a
    /// directory that cannot hold the baseline is said then, not at the first save a minute
    /// later or at stop, when what was learned is already lost for the next start.
    public static func checkWritable(_ path: String) throws(SnapshotError) {
        let dir = try directory(of: path)
        let probe = "\(path).probe.\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: dir, reason: errnoText("create a file")) }
        close(fd)
        unlink(probe)
    }

    /// The directory `path` is in, created when missing (mode 0755).
    static func directory(of path: String) throws(SnapshotError) -> String {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        } catch {
            throw .io(path: dir, reason: "cannot create directory: \(error.localizedDescription)")
        }
        return dir
    }

    /// Reads the snapshot at `path` and checks it is usable now by a detector with `config`:
    /// intact (``init(decoding:)``), compatible (``compatibility(with:)``), and saved no more
    /// than `maxAge` before `now`. Any other outcome throws the reason, for the caller to log
    /// before relearning; ``SnapshotError/notFound(path:)`` is the ordinary first start.
    public static func load(from path: String, maxAge: Duration, now: Date = Date(),
                            config: DetectorConfig) throws(SnapshotError) -> DetectorSnapshot {
        let bytes = try readFile(path)
        let snapshot = try DetectorSnapshot(decoding: bytes)
        try snapshot.compatibility(with: config)
        let age = now.timeIntervalSince(snapshot.savedAt)
        let max = Double(DetectorConfig.ns(maxAge)) / 1e9
        // A minute of slack for clocks that step (NTP) between a save and a start.
        if age < -60 { throw .fromTheFuture(secondsAhead: -age) }
        if age > max { throw .tooOld(ageSeconds: age, maxAgeSeconds: max) }
        return snapshot
    }

    static func readFile(_ path: String) throws(SnapshotError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw .notFound(path: path) }
            throw .io(path: path, reason: errnoText("open"))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, reason: errnoText("stat")) }
        guard Int(st.st_size) <= maxFileSize else { throw .io(path: path, reason: "\(st.st_size) bytes, larger than any baseline") }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: errnoText("read"))
            }
            if n == 0 { break }
            got += n
        }
        return Array(bytes.prefix(got))
    }

    static func errnoText(_ call: String) -> String { "\(call): \(String(cString: strerror(errno)))" }
}
