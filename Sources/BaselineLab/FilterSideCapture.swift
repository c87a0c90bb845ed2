import Foundation
import Glibc

/// Records the baseline as the filter sees it: tcpdump on the filter's interface inside its
/// namespace, every packet in both directions, to a pcap file `holon analyze` reads.
public enum FilterSideCapture {
    /// Captures for `seconds` (or until `stop` returns true); `tick` hears the elapsed time and
    /// the file's size. Returns the number of packets tcpdump reports.
    public static func capture(_ layout: BaselineLayout = .standard, seconds: Double, to path: String, snaplen: Int = 256,
                               stop: () -> Bool = { false }, tick: (Double, UInt64) -> Void = { _, _ in }) throws(BaselineError) -> Int {
        guard geteuid() == 0 else { throw .notRoot }
        guard BaselineSite(layout).status().lab else { throw .notUp("the lab") }
        let tcpdump = try Command.which("tcpdump", package: "tcpdump")
        let ip = try Command.which("ip", package: "iproute2")
        let out = URL(fileURLWithPath: path).standardizedFileURL.path
        let dir = (out as NSString).deletingLastPathComponent
        guard FileManager.default.isWritableFile(atPath: dir.isEmpty ? "." : dir) else { throw .invalid("cannot write to \(dir)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ip)
        // -U: each packet written as it comes, so the file is whole at any moment; the snap length
        // keeps headers (all the detector reads) and the file small.
        p.arguments = ["netns", "exec", layout.topology.filterNamespace, tcpdump, "-i", layout.topology.filterInterface,
                       "-U", "-s", String(snaplen), "-w", out, "--immediate-mode", "-Z", "root"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { throw .commandFailed(command: "tcpdump", status: -1, output: "\(error)") }
        let started = Date()
        while p.isRunning && Date().timeIntervalSince(started) < seconds && !stop() {
            usleep(500_000)
            tick(Date().timeIntervalSince(started), AccessLog.offset(out))
        }
        if p.isRunning { kill(p.processIdentifier, SIGINT) }
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 || p.terminationReason == .uncaughtSignal || text.contains("packets captured") else {
            throw .commandFailed(command: "tcpdump", status: p.terminationStatus, output: text)
        }
        // "123 packets captured"
        let line = text.split(separator: "\n").first { $0.hasSuffix("packets captured") }
        return line.flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
    }
}
