import Dataplane
import Foundation
import Spawn

/// `holon run` as a child process of the soak, on the soak lab's interface, its JSON events
/// stamped with the wall clock when they arrive. Killed with SIGKILL (no chance to tidy up)
/// and started again, as a crash and a supervisor's restart would.
final class SoakChild: @unchecked Sendable {
    struct Event {
        var kind: String
        /// A notice's kind (`baseline-restored`, …).
        var detail: String?
        var wallNs: UInt64
    }

    let target: DataplaneOptions
    let warmup: Int
    /// The soak's own: a restart finds what the killed run saved.
    let baselineDirectory = NSTemporaryDirectory() + "holon-soak-baseline-\(getpid())"

    private let lock = NSLock()
    private var process: ChildProcess?
    private var log: [Event] = []
    private var restartCount = 0
    private var stopping = false

    init(target: DataplaneOptions, warmup: Int) {
        self.target = target
        self.warmup = warmup
    }

    var events: [Event] { lock.withLock { log } }
    var restarts: Int { lock.withLock { restartCount } }
    var finished: Bool { lock.withLock { stopping } }

    func start() throws {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let p = try ChildProcess(me, ["run", "--interface", target.interface] + (target.namespace.map { ["--netns", $0] } ?? [])
            + ["--json", "--no-http", "--warmup", "\(warmup)s", "--hold", "3s", "--sample-every", "10", "--baseline-dir", baselineDirectory],
            stdout: .pipe)
        let out = p.standardOutput!
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        lock.withLock { process = p; started = now }
        let reader = Thread { [weak self] in
            var buffer = Data()
            while true {
                let chunk = out.availableData
                if chunk.isEmpty { return }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    let line = buffer[buffer.startIndex..<nl]
                    buffer.removeSubrange(buffer.startIndex...nl)
                    let now = UInt64(Date().timeIntervalSince1970 * 1e9)
                    guard let o = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let kind = o["event"] as? String,
                          kind != "heartbeat" else { continue }
                    let detail = o["kind"] as? String
                    self?.lock.withLock { self?.log.append(Event(kind: kind, detail: detail, wallNs: now)) }
                }
            }
        }
        reader.start()
    }

    /// SIGKILL, then whether the filter's table still matches its state file (nil: it does).
    func killAndCheck() -> String? {
        guard let p = lock.withLock({ process }) else { return "no holon run to kill" }
        p.stop(signal: SIGKILL)
        lock.withLock { restartCount += 1 }
        return Self.tableProblem(target)
    }

    /// The baselines the runs saved, removed at the end.
    func removeBaselines() { try? FileManager.default.removeItem(atPath: baselineDirectory) }

    /// The child's start, for "time since start" measures (ns, wall clock).
    var startedAt: UInt64 { lock.withLock { started } }
    private var started: UInt64 = 0

    /// Ctrl-C (the rules stay, the baseline is saved), SIGKILL if it does not end within 5 s.
    func stop(final: Bool = true) {
        if final { lock.withLock { stopping = true } }
        guard let p = lock.withLock({ process }), p.isRunning else { return }
        p.stop(signal: SIGINT, timeout: 5)
    }

    /// Why the filter's table is not what its state file says, or nil when it is.
    static func tableProblem(_ target: DataplaneOptions) -> String? {
        do {
            let dp = try Dataplane.open(target)
            _ = try dp.verifiedRules()
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// The filter's drop counter every 50 ms, as deltas; follows the filter when it is detached
/// and attached anew (the new maps count from zero).
final class DropPoller: @unchecked Sendable {
    struct Delta {
        var wallNs: UInt64
        var count: UInt64
    }

    let target: DataplaneOptions
    private let lock = NSLock()
    private var samples: [Delta] = []
    private var stopping = false
    private var running = false

    init(target: DataplaneOptions) { self.target = target }

    var deltas: [Delta] { lock.withLock { samples } }

    func start() {
        lock.withLock { running = true }
        let t = Thread { [self] in
            var dp: Dataplane?
            var last: UInt64?
            while !lock.withLock({ stopping }) {
                if dp == nil || !(dp!.stillAttached()) {
                    dp = try? Dataplane.open(target)
                    last = nil
                }
                if let dp, let s = try? dp.stats() {
                    let now = UInt64(Date().timeIntervalSince1970 * 1e9)
                    if let l = last { lock.withLock { samples.append(Delta(wallNs: now, count: s.dropped >= l ? s.dropped - l : s.dropped)) } }
                    last = s.dropped
                }
                usleep(50_000)
            }
            lock.withLock { running = false }
        }
        t.start()
    }

    func stop() {
        lock.withLock { stopping = true }
        while lock.withLock({ running }) { usleep(10_000) }
    }
}
