import Dataplane
import Foundation
import Glibc
import Spawn

/// `holon run` as a child process watching the filter side of a baseline lab (XDP attached to
/// the site's interface, every packet sampled: the baseline is a few hundred packets a second),
/// its `--json` events counted. What the baseline test and `holon bench baseline` assert on:
/// on real users, no incident and no rule.
public final class LoopWatcher: @unchecked Sendable {
    public struct Counts: Codable, Sendable {
        public var incidents = 0
        public var rules = 0
        public var calibrated = false
        public var heartbeats = 0
        /// Packets the filter saw (the last heartbeat's count).
        public var filterPackets = 0
        public var lastEvents: [String] = []
        /// Incidents opened and rules installed or proposed, with when they were read (seconds
        /// since 1970): attacks mixed into a run are judged by what happened while they lasted.
        public var moments: [Moment] = []
    }

    public struct Moment: Codable, Sendable {
        public var at: Double
        /// `opened`, `installed` or `proposed`.
        public var event: String
        public var line: String
    }

    let holon: String
    let layout: BaselineLayout
    let warmup: Int
    let baselineDirectory: String
    let lock = NSLock()
    var counts = Counts()
    var child: ChildProcess?

    /// `holon`: the executable to run (`/proc/self/exe` from the CLI, the built binary from tests).
    public init(holon: String, layout: BaselineLayout, warmup: Int = 30) {
        self.holon = holon
        self.layout = layout
        self.warmup = warmup
        baselineDirectory = layout.run + "/loop-baseline-\(getpid())"
    }

    public var snapshot: Counts { lock.withLock { counts } }

    public func start() throws(BaselineError) {
        // `holon run --interface` protects a filter that is attached; attach it as an operator would.
        try Command.run(holon, ["filter", "attach", "--interface", layout.topology.filterInterface,
                                "--netns", layout.topology.filterNamespace])
        let args = ["run", "--interface", layout.topology.filterInterface, "--netns", layout.topology.filterNamespace,
                    "--json", "--no-http", "--warmup", "\(warmup)s", "--hold", "8s", "--sample-every", "1",
                    "--baseline-dir", baselineDirectory]
        let p = try Command.child(holon, args, stdout: .pipe, stderr: .pipe)
        lock.withLock { child = p }
        let (out, err) = (p.standardOutput!, p.standardError!)
        let reader = Thread { [weak self] in
            var buffer = Data()
            while true {
                let chunk = out.availableData
                if chunk.isEmpty { return }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    let line = buffer[buffer.startIndex..<nl]
                    buffer.removeSubrange(buffer.startIndex...nl)
                    guard let o = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let kind = o["event"] as? String else { continue }
                    self?.note(kind, o, String(decoding: line, as: UTF8.self))
                }
            }
        }
        reader.start()
        // What it says on stderr (why it stopped, when it does) joins the events.
        Thread { [weak self] in
            let text = String(decoding: err.readDataToEndOfFile(), as: UTF8.self)
            for line in text.split(separator: "\n").suffix(3) { self?.lock.withLock { self?.counts.lastEvents.append("stderr: " + line) } }
        }.start()
    }

    func note(_ kind: String, _ o: [String: Any], _ line: String) {
        lock.withLock {
            switch kind {
            case "heartbeat":
                counts.heartbeats += 1
                counts.filterPackets = o["filter_packets"] as? Int ?? counts.filterPackets
                return
            case "opened":
                counts.incidents += 1
                counts.moments.append(Moment(at: Date().timeIntervalSince1970, event: kind, line: String(line.prefix(400))))
            case "installed", "proposed":
                counts.rules += 1
                counts.moments.append(Moment(at: Date().timeIntervalSince1970, event: kind, line: String(line.prefix(400))))
            case "calibrated": counts.calibrated = true
            default: break
            }
            counts.lastEvents.append(String(line.prefix(400)))
            if counts.lastEvents.count > 10 { counts.lastEvents.removeFirst() }
        }
    }

    /// Whether the child still runs (it exits on its own only on an error).
    public var isRunning: Bool { lock.withLock { child }?.isRunning ?? false }

    /// SIGTERM and wait, then detach the filter and forget its pins: `holon run` leaves the
    /// filter in place on purpose (rules outlive it), a watcher leaves nothing.
    public func stop() {
        defer { Self.detach(layout) }
        guard let p = lock.withLock({ child }), p.isRunning else { return }
        p.stop(signal: SIGTERM, timeout: 15)
        try? FileManager.default.removeItem(atPath: baselineDirectory)
    }

    /// Detaches the filter from the site's interface and forgets its rules.
    public static func detach(_ layout: BaselineLayout) {
        let target = DataplaneOptions.protecting(interface: layout.topology.filterInterface, namespace: layout.topology.filterNamespace)
        _ = try? Dataplane.detach(target, force: true, forgetRules: true)
    }
}
