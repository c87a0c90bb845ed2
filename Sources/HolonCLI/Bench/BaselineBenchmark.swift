import ArgumentParser
import BaselineLab
import CGeneratorShim
import Foundation

/// `holon bench baseline`: the baseline lab as a benchmark (issue 15). The site is brought up
/// if it is not; `holon run` watches the filter side (XDP on the site's interface, learning on
/// this very traffic); the people run for `--duration`. Reported: successful page loads per
/// minute, the CPU share of the machine the lab takes (site, Squid, browsers, agents; not
/// holon run), and the incidents and rules the loop raised on real users — which must be 0.
struct BenchBaseline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Real browsers on the WordPress lab behind the filter: page loads/min, CPU share, false incidents (root).")

    @Option(help: "Reading people.") var readers = 20
    @Option(help: "Editing people.") var editors = 3
    @Option(help: "How long the people run, e.g. 10m.") var duration = "10m"
    @Option(help: "Learning time of holon run (the people run through it).") var warmup = 60
    @Option(help: "Multiplies think times (1 = human pace).") var pace = 1.0
    @Flag(help: "Mix in attacks from warmup + 40 s: a DNS reflection, a SYN flood and an ACK flood at the site (20 kpps, 20 s each, 25 s apart). Each must be detected and mitigated while the people's page loads keep succeeding.")
    var attacks = false
    @Flag(help: "One JSON object per result line.") var json = false

    struct Line: Encodable {
        let name: String
        /// nil (JSON null) for an attack never detected or mitigated.
        let value: Double?
    }

    /// When the mix's attacks start, in seconds after the people do: once the loop has learned.
    var attackDelay: Double { Double(warmup) + 40 }

    func validate() throws {
        let seconds = Double(try parseDuration(duration).components.seconds)
        guard warmup >= 10, seconds >= Double(warmup) + 30 else { throw ValidationError("need --warmup ≥ 10 and --duration at least 30 s longer") }
        guard readers + editors >= 1, pace > 0 else { throw ValidationError("need at least one person and a positive --pace") }
        if attacks && seconds < attackDelay + AttackMix.standard().span + 20 {
            throw ValidationError("--attacks needs --duration of at least \(Int(attackDelay + AttackMix.standard().span + 20)) s with --warmup \(warmup)")
        }
    }

    func run() throws {
        guard geteuid() == 0 else { throw InputError("holon bench baseline: needs root (lab, XDP, daemons)") }
        let site = BaselineSite()
        if !site.status().isUp {
            _ = try baselineStep { () throws(BaselineError) in
                try site.up { FileHandle.standardError.write("baseline up: \($0)\n".data(using: .utf8)!) }
            }
        }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let watcher = LoopWatcher(holon: me, layout: .standard, warmup: warmup)
        try baselineStep { () throws(BaselineError) in try watcher.start() }
        defer { watcher.stop() }
        var o = RunOptions()
        o.readers = readers
        o.editors = editors
        o.duration = Double(try parseDuration(duration).components.seconds)
        o.pace = pace
        let cpu = LabCPU(layout: .standard)
        cpu.start()
        let runner = BaselineRunner()
        let mix = AttackMix.standard()
        let sent = SentAttacks()
        if attacks {
            mix.start(holon: me, layout: .standard, after: attackDelay, stop: { hg_stop_requested() != 0 }, done: { sent.finish($0) })
        }
        let summary = try runBaseline(o, label: "bench baseline", runner: runner)
        let used = cpu.stop()
        let loop = watcher.snapshot
        guard watcher.isRunning else { throw InputError("holon bench baseline: holon run exited early: \(loop.lastEvents.last ?? "no events")") }
        let mixed = attacks ? sent.wait(seconds: 60) : []
        let judged = judge(mixed, loop, runner.stats)
        var lines = [
            Line(name: "baseline.page_loads_per_minute", value: summary.pageLoadsPerMinute),
            Line(name: "baseline.cpu_fraction", value: used.fraction),
            Line(name: "baseline.false_incidents", value: Double(judged.falseIncidents)),
            Line(name: "baseline.false_rules", value: Double(judged.falseRules)),
            Line(name: "baseline.failed_page_load_fraction", value: summary.failureFraction),
            Line(name: "baseline.distinct_client_addresses", value: Double(summary.site.distinctClients)),
            Line(name: "baseline.filter_packets", value: Double(loop.filterPackets)),
        ]
        if attacks {
            for a in judged.attacks {
                lines.append(Line(name: "baseline.attack.\(a.kind).detected_ms", value: a.detectedMs))
                lines.append(Line(name: "baseline.attack.\(a.kind).mitigated_ms", value: a.mitigatedMs))
            }
            // What the sender took to start (not counted in the times above, which run from its
            // first packet).
            for m in mixed {
                lines.append(Line(name: "baseline.attack.\(m.attack.kind.rawValue).sender_start_ms", value: (m.start - m.launched) * 1000))
            }
            lines.append(Line(name: "baseline.attack.page_load_success_fraction", value: judged.successDuringAttacks))
            for f in mixed.compactMap(\.failure) { FileHandle.standardError.write("holon generate: \(f)\n".data(using: .utf8)!) }
        }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            for l in lines { print(String(decoding: try e.encode(l), as: UTF8.self)) }
        } else {
            printRunSummary(summary, json: false)
            print("loop: " + (loop.calibrated ? "calibrated" : "NOT CALIBRATED") + ", \(loop.incidents) incident(s), \(loop.rules) rule(s)")
            for l in lines { print(pad(l.name, 44) + lpad(l.value.map { String(format: "%.4g", $0) } ?? "NOT", 14)) }
        }
        for e in loop.lastEvents where loop.incidents + loop.rules > 0 { FileHandle.standardError.write("holon run: \(e)\n".data(using: .utf8)!) }
    }
}

/// What the attack thread sent, handed to the command when it is done.
final class SentAttacks: @unchecked Sendable {
    private let lock = NSCondition()
    private var sent: [AttackMix.Sent]?

    func finish(_ s: [AttackMix.Sent]) {
        lock.withLock { sent = s; lock.broadcast() }
    }

    func wait(seconds: Double) -> [AttackMix.Sent] {
        let deadline = Date().addingTimeInterval(seconds)
        return lock.withLock {
            while sent == nil && lock.wait(until: deadline) {}
            return sent ?? []
        }
    }
}

/// One mixed attack judged: milliseconds from its start to the loop's first incident and first
/// rule while it lasted (or within 5 s of its end), and the page loads that ended during it.
struct JudgedAttack {
    let kind: String
    let detectedMs: Double?
    let mitigatedMs: Double?
    let loads: Int
    let failedLoads: Int
}

/// Incidents and rules outside every attack (and the 10 s after it, when the loop closes what
/// it opened) are false: they acted on the people alone.
func judge(_ sent: [AttackMix.Sent], _ loop: LoopWatcher.Counts, _ stats: RunStats)
    -> (attacks: [JudgedAttack], falseIncidents: Int, falseRules: Int, successDuringAttacks: Double?) {
    func ms(_ m: LoopWatcher.Moment?, from start: Double) -> Double? { m.map { max(0, ($0.at - start) * 1000) } }
    var attacks: [JudgedAttack] = []
    var loads = 0, failed = 0
    for s in sent {
        let during = loop.moments.filter { $0.at >= s.start && $0.at <= s.end + 5 }
        let w = stats.loads(from: s.start, to: s.end)
        loads += w.loads
        failed += w.failed
        attacks.append(JudgedAttack(kind: s.attack.kind.rawValue,
                                    detectedMs: ms(during.first { $0.event == "opened" }, from: s.start),
                                    mitigatedMs: ms(during.first { $0.event == "installed" }, from: s.start),
                                    loads: w.loads, failedLoads: w.failed))
    }
    let outside = loop.moments.filter { m in !sent.contains { m.at >= $0.start && m.at <= $0.end + 10 } }
    return (attacks, outside.filter { $0.event == "opened" }.count, outside.filter { $0.event != "opened" }.count,
            loads == 0 ? nil : 1 - Double(failed) / Double(loads))
}
