import ArgumentParser
import ControlPlane
import Dataplane
import Foundation
import Generator
import Lab
import Packets
import Traffic

/// `holon bench restart`: what a restart costs an operator (issue 11). In a lab the bench
/// builds, `holon run` (a child process) learns normal traffic and is stopped (it saves its
/// baseline); an attack starts while it is down; it is started again, and the bench measures
/// how long until the attack's rule is in the filter — with the saved baseline there is no
/// warmup to wait for. Then it is killed with SIGKILL in the middle of the attack and kept down
/// for `--down` seconds: the rules stay in the kernel, and the bench measures the share of the
/// attack that passed meanwhile.
struct BenchRestart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Time to the first rule after a restart with a saved baseline, and the attack passed while holon run is down (root; builds its own lab).")

    @Option(help: "Attack packets per second.") var rate = 30_000.0
    @Option(help: "Normal packets per second, throughout.") var normal = 3_000.0
    @Option(help: "Seconds holon run stays down (killed) during the attack.") var down = 5.0
    @Option(help: "Warmup of the first run (the restarted one restores instead).") var warmup = 5
    @Flag(help: "One JSON object per result line.") var json = false

    struct Line: Encodable {
        let name: String
        @NullWhenAbsent var value: Double?
    }

    func validate() throws {
        guard down >= 1, down <= 30, rate >= 1_000, normal >= 100, warmup >= 2 else {
            throw ValidationError("need --down 1…30, --rate ≥ 1000, --normal ≥ 100, --warmup ≥ 2")
        }
    }

    func run() throws {
        let bench = try BenchLab(bench: "restart", prefix: "holon-rb", tag: "r\(getpid() % 100_000)")
        defer { bench.close() }
        let target = bench.target

        // Learn, stop; the attack starts while nothing runs; start again; kill in the attack.
        let learn = Double(warmup) + 10, gap = 2.0, killAt = 8.0
        let attackSeconds = gap + killAt + down + 5
        let scenario = Scenario(name: "restart", seed: 31, phases: [
            ScenarioPhase(name: "learn", duration: learn, normalRate: normal),
            ScenarioPhase(name: "udp-flood", duration: attackSeconds, normalRate: normal,
                          attack: AttackSpec(kind: .udpFlood, rate: rate, victim: IPPrefix("198.51.100.10")!)),
            ScenarioPhase(name: "after", duration: 3, normalRate: normal),
        ])
        let child = SoakChild(target: target, warmup: warmup)
        try child.start()
        defer { child.stop(); child.removeBaselines() }

        let t0 = Date()
        let marks = RestartMarks()
        let driver = Thread {
            func wait(_ s: Double) { while Date().timeIntervalSince(t0) < s { usleep(10_000) } }
            wait(learn - 1)
            child.stop(final: false)                       // saves its baseline
            wait(learn + gap)
            do { try child.start() } catch { marks.note("restart failed: \(error)") }
            marks.set(restartedAt: child.startedAt)
            // The filter's counters read at the instants themselves: passed = packets − dropped
            // over an equal window with holon running, then down.
            func passedSoFar() -> UInt64 {
                guard let s = try? Dataplane.open(target).stats() else { return 0 }
                return s.packets &- s.dropped
            }
            wait(learn + gap + killAt - down)
            marks.passed.append(passedSoFar())
            wait(learn + gap + killAt)
            marks.passed.append(passedSoFar())
            _ = child.killAndCheck()
            marks.set(downFrom: UInt64(Date().timeIntervalSince1970 * 1e9))
            wait(learn + gap + killAt + down)
            marks.passed.append(passedSoFar())
            marks.set(downTo: UInt64(Date().timeIntervalSince1970 * 1e9))
            do { try child.start() } catch { marks.note("restart failed: \(error)") }
        }
        driver.start()

        let o = bench.generatorOptions
        let total = scenario.phases.reduce(0) { $0 + $1.duration }
        let report = try TrafficGenerator(plan: .scenario(scenario), options: o).run { s in
            FileHandle.standardError.write("\u{1B}[2K[\(s.phase)] \(s.second)/\(Int(total)) s\r".data(using: .utf8)!)
        }
        FileHandle.standardError.write("\u{1B}[2K".data(using: .utf8)!)
        report.warnIfNotAsPlanned(bench: "restart")
        while !driver.isFinished { usleep(10_000) }

        let m = marks.snapshot
        let events = child.events
        let restored = events.contains { $0.kind == "notice" && $0.detail == "baseline-restored" && $0.wallNs >= m.restartedAt }
        let firstRule = events.first { $0.kind == "installed" && $0.wallNs >= m.restartedAt }?.wallNs
        let detectMs = firstRule.map { Double($0 &- m.restartedAt) / 1e6 }
        // What passed the filter while nothing ran, less what passed in an equal window just
        // before with everything up (normal traffic, and whatever the rules let through): the
        // attack packets the restart let in, as a share of the attack sent meanwhile.
        let sentWhileDown = rate * Double(m.downTo &- m.downFrom) / 1e9
        var passed: Double?
        var passedUp: UInt64 = 0, passedDown: UInt64 = 0
        if m.passed.count == 3 {
            passedUp = m.passed[1] &- m.passed[0]
            passedDown = m.passed[2] &- m.passed[1]
            passed = sentWhileDown > 0 ? max(0, Double(passedDown) - Double(passedUp)) / sentWhileDown : nil
        }

        let lines = [
            Line(name: "restart.detect_after_start_ms", value: detectMs),
            Line(name: "restart.attack_passed_fraction", value: passed),
            Line(name: "restart.baseline_restored", value: restored ? 1 : 0),
        ]
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            for l in lines { print(String(decoding: try e.encode(l), as: UTF8.self)) }
        } else {
            print("restart with a saved baseline, attack already running: " + (restored ? "baseline restored" : "BASELINE NOT RESTORED"))
            print(pad("restart.detect_after_start_ms", 34) + lpad(detectMs.map { String(format: "%.0f ms", $0) } ?? "no rule", 14))
            print(pad("restart.attack_passed_fraction", 34) + lpad(passed.map { String(format: "%.4f %%", $0 * 100) } ?? "-", 14)
                  + String(format: "   (%.0f s down: %llu packets passed, against %llu in as long just before; ~%.0f attack packets sent)",
                           Double(m.downTo &- m.downFrom) / 1e9, passedDown, passedUp, sentWhileDown))
            for n in m.notes { print("  " + n) }
        }
    }
}

/// When the driver restarted and killed the child, read after it is done.
final class RestartMarks: @unchecked Sendable {
    struct Values {
        var restartedAt: UInt64 = 0, downFrom: UInt64 = 0, downTo: UInt64 = 0
        var notes: [String] = []
        /// The filter's passed packets at the window edges.
        var passed: [UInt64] = []
    }
    private let lock = NSLock()
    private var v = Values()
    func set(restartedAt t: UInt64) { lock.withLock { v.restartedAt = t } }
    func set(downFrom t: UInt64) { lock.withLock { v.downFrom = t } }
    func set(downTo t: UInt64) { lock.withLock { v.downTo = t } }
    func note(_ s: String) { lock.withLock { v.notes.append(s) } }
    var passed: [UInt64] {
        get { lock.withLock { v.passed } }
        set { lock.withLock { v.passed = newValue } }
    }
    var snapshot: Values { lock.withLock { v } }
}
