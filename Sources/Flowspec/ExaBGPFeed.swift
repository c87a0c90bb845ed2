import Foundation

/// ExaBGP through its text API: each command appended as one line to a file that ExaBGP's API
/// process follows. In exabgp.conf:
///
/// ```
/// process holon { run /usr/bin/tail -n 0 -F /run/holon/exabgp.cmd; encoder text; }
/// neighbor … { … family { ipv4 flow; ipv6 flow; } api { processes [ holon ]; } }
/// ```
///
/// A file rather than a pipe: it survives either side restarting (`tail -F` follows it anew),
/// and a write never blocks the loop on a reader that is not there.
public struct ExaBGPFeed: FlowspecSpeaker {
    public var path: String

    public init(path: String) { self.path = path }

    public func announce(_ r: FlowspecRule) throws(FlowspecError) {
        guard let line = r.exabgpAnnounce else { throw FlowspecError("ExaBGP's grammar cannot say \(r.gobgpMatch.joined(separator: " "))") }
        try append(line)
    }

    public func withdraw(_ r: FlowspecRule) throws(FlowspecError) {
        guard let line = r.exabgpWithdraw else { throw FlowspecError("ExaBGP's grammar cannot say \(r.gobgpMatch.joined(separator: " "))") }
        try append(line)
    }

    /// The file is there and writable (it is created if missing).
    public func check() throws(FlowspecError) { try append(nil) }

    /// One whole line per write, O_APPEND: a reader never sees half a command.
    func append(_ line: String?) throws(FlowspecError) {
        // Readable by all: ExaBGP drops to its own user before its API process reads the file
        // (the commands are the routes it announces to the world anyway).
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FlowspecError("ExaBGP feed \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard let line else { return }
        let bytes = Array((line + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw FlowspecError("ExaBGP feed \(path): short write (\(String(cString: strerror(errno))))") }
    }
}
