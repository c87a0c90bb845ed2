import Foundation
import Glibc
import Lab
import Spawn

/// Records the baseline as the filter sees it: tcpdump on the filter's interface inside its
/// namespace, every packet in both directions, to a pcap file `holon analyze` reads.
public enum FilterSideCapture {
    /// Captures for `seconds` (or until `stop` returns true); `tick` hears the elapsed time and
    /// the file's size. Returns the number of packets tcpdump reports.
    public static func capture(_ layout: BaselineLayout = .standard, seconds: Double, to path: String, snaplen: Int = 256,
                               stop: () -> Bool = { false }, tick: (Double, UInt64) -> Void = { _, _ in }) throws(BaselineError) -> Int {
        guard geteuid() == 0 else { throw .notRoot }
        // The lab only (not the site probe, whose requests would join the capture).
        guard Lab(layout.topology).status().isUp else { throw .notUp("the lab") }
        let tcpdump = try Command.which("tcpdump", package: "tcpdump")
        let nsenter = try Command.which("nsenter", package: "util-linux")
        let out = URL(fileURLWithPath: path).standardizedFileURL.path
        let dir = (out as NSString).deletingLastPathComponent
        guard FileManager.default.isWritableFile(atPath: dir.isEmpty ? "." : dir) else { throw .invalid("cannot write to \(dir)") }
        // -U: each packet written as it comes, so the file is whole at any moment; the snap length
        // keeps headers (all the detector reads) and the file small. nsenter execs tcpdump in
        // place, so the SIGINT that ends the capture reaches tcpdump itself.
        let args = ["--net=/run/netns/\(layout.topology.filterNamespace)", tcpdump, "-i", layout.topology.filterInterface,
                    "-U", "-s", String(snaplen), "-w", out, "--immediate-mode", "-Z", "root"]
        let p = try Command.child(nsenter, args, stdout: .null, stderr: .pipe)
        let started = Date()
        while p.isRunning && Date().timeIntervalSince(started) < seconds && !stop() {
            usleep(500_000)
            tick(Date().timeIntervalSince(started), AccessLog.offset(out))
        }
        // SIGINT: tcpdump writes what it holds and says how many packets it captured.
        let status = p.stop(signal: SIGINT, timeout: 30)
        let text = String(decoding: p.standardError!.readDataToEndOfFile(), as: UTF8.self)
        guard text.contains("packets captured") else {
            throw .commandFailed(command: "tcpdump", status: status, output: text)
        }
        // "123 packets captured"
        let line = text.split(separator: "\n").first { $0.hasSuffix("packets captured") }
        return line.flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
    }
}
