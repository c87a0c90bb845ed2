import ArgumentParser
import Dataplane
import Foundation
import Generator
import Lab
import Packets
import Traffic

/// `holon bench soak`: the live loop as an operator lives with it, in a lab the bench builds.
/// Normal traffic throughout, an attack every `--every` seconds, `holon run` (a real child
/// process, on the lab's interface through `--interface/--netns`) killed with SIGKILL and
/// restarted every `--kill-every` seconds, and the filter detached and attached once under it.
/// It scores what issue 10 asks of the loop: no drop outside the attack windows (only normal
/// traffic is sent then, so every drop there hit a real user), every attack mitigated within
/// 1 s, and the filter's table always what the state file says.
struct BenchSoak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Minutes of attacks, kill -9 restarts of holon run and a detach/attach; scores legit drops, mitigation time and table consistency (root; builds its own lab).")

    @Option(help: "Minutes of traffic after the first warmup.") var minutes = 10.0
    @Option(help: "Seconds from one attack's start to the next.") var every = 30.0
    @Option(help: "Seconds each attack lasts.") var attackSeconds = 5.0
    @Option(help: "Seconds between kill -9 restarts of holon run.") var killEvery = 120.0
    @Option(help: "Attack packets per second.") var rate = 50_000.0
    @Option(help: "Normal packets per second, throughout.") var normal = 3_000.0
    @Option(help: "Warmup of each holon run.") var warmup = 5
    @Option(help: "Seconds after an attack ends before drops count against the loop (in-flight frames, the rule's last samples).") var grace = 0.3
    @Flag(help: "Print one JSON object.") var json = false

    static let kinds: [AttackKind] = [.udpFlood, .synFlood, .icmpFlood, .ntpAmplification, .ackFlood, .dnsReflection, .fragmentFlood]

    func validate() throws {
        guard minutes > 0, every >= attackSeconds + 10, attackSeconds >= 1, killEvery >= every, rate >= 1_000, normal >= 100, warmup >= 2 else {
            throw ValidationError("need --minutes > 0, --every ≥ --attack-seconds + 10, --attack-seconds ≥ 1, --kill-every ≥ --every, --rate ≥ 1000, --normal ≥ 100, --warmup ≥ 2")
        }
    }

    func run() throws {
        let bench = try BenchLab(bench: "soak", prefix: "holon-soak", tag: "hs\(getpid() % 100_000)")
        defer { bench.close() }
        let target = bench.target

        // Learning, then cycles of an attack and a quiet gap.
        let lead = Double(warmup) + 15
        var phases = [ScenarioPhase(name: "baseline", duration: lead, normalRate: normal)]
        let cycles = max(1, Int(minutes * 60 / every))
        for i in 0..<cycles {
            let kind = Self.kinds[i % Self.kinds.count]
            phases.append(ScenarioPhase(name: "\(kind.rawValue)-\(i + 1)", duration: attackSeconds, normalRate: normal,
                                        attack: AttackSpec(kind: kind, rate: rate, victim: IPPrefix("198.51.100.10")!)))
            phases.append(ScenarioPhase(name: "gap-\(i + 1)", duration: every - attackSeconds, normalRate: normal))
        }
        let scenario = Scenario(name: "soak", seed: 23, phases: phases)
        let attackStarts = (0..<cycles).map { lead + Double($0) * every }

        // Disturbances, in seconds from the traffic's start: kills a few seconds into a gap (the
        // attack's rules still held, to be adopted by the next run), one detach/attach in the
        // middle of a gap that has no kill.
        var kills: [Double] = []
        var next = killEvery
        for s in attackStarts where s + attackSeconds + 3 >= next {
            kills.append(s + attackSeconds + 3)
            next += killEvery
        }
        let detachCycle = attackStarts.indices.first { k in
            k >= cycles / 2 && !kills.contains { abs($0 - (attackStarts[k] + attackSeconds + (every - attackSeconds) / 2)) < every / 2 }
        } ?? cycles / 2
        let detachAt = attackStarts[min(detachCycle, cycles - 1)] + attackSeconds + (every - attackSeconds) / 2

        let child = SoakChild(target: target, warmup: warmup)
        try child.start()
        defer { child.stop(); child.removeBaselines() }
        let poller = DropPoller(target: target)
        poller.start()
        defer { poller.stop() }

        let journal = SoakJournal()
        let t0 = Date()
        let pending = (kills.map { ($0, "kill") } + [(detachAt, "detach")]).sorted { $0.0 < $1.0 }
        let disturber = Thread {
            for (at, what) in pending {
                while Date().timeIntervalSince(t0) < at {
                    if child.finished { return }
                    usleep(20_000)
                }
                if what == "kill" {
                    let consistent = child.killAndCheck()
                    journal.note("kill -9 at \(Int(at)) s; table \(consistent ?? "matches its state")", inconsistent: consistent != nil)
                    do { try child.start() } catch { journal.note("restart failed: \(error)", inconsistent: true) }
                } else {
                    let r = Result { () throws(DataplaneError) in
                        try Dataplane.detach(target, force: true)
                        usleep(1_000_000)
                        _ = try Dataplane.attach(target)
                    }
                    journal.note("detach/attach at \(Int(at)) s" + ((try? r.get()) != nil ? "" : ": \(r)"), inconsistent: (try? r.get()) == nil)
                }
            }
        }
        disturber.start()

        let o = bench.generatorOptions
        let total = scenario.phases.reduce(0) { $0 + $1.duration }
        let report = try TrafficGenerator(plan: .scenario(scenario), options: o).run { s in
            FileHandle.standardError.write("\u{1B}[2K[\(s.phase)] \(s.second)/\(Int(total)) s, \(child.restarts) restarts\r".data(using: .utf8)!)
        }
        FileHandle.standardError.write("\u{1B}[2K".data(using: .utf8)!)
        report.warnIfNotAsPlanned(bench: "soak")
        usleep(500_000)
        child.stop()
        poller.stop()
        let finalCheck = SoakChild.tableProblem(target)

        // Score.
        let start = report.startedAtNs
        func at(_ seconds: Double) -> UInt64 { start &+ UInt64(seconds * 1e9) }
        let windows = attackStarts.map { (at($0), at($0 + attackSeconds + grace)) }
        let drops = poller.deltas
        var legit: UInt64 = 0
        var legitSpans: [String] = []
        var legitAfter = [UInt64](repeating: 0, count: attackStarts.count)
        for d in drops where d.wallNs > at(lead) && d.count > 0 {
            let inAttack = windows.contains { d.wallNs >= $0.0 && d.wallNs < $0.1 &+ 50_000_000 }
            if !inAttack {
                legit += d.count
                if let k = windows.lastIndex(where: { $0.0 <= d.wallNs }) { legitAfter[k] += d.count }
                if legitSpans.count < 5 { legitSpans.append(String(format: "%.1f s: %llu", Double(d.wallNs &- start) / 1e9, d.count)) }
            }
        }
        let events = child.events
        var rows: [SoakAttack] = []
        for (k, s) in attackStarts.enumerated() {
            let (from, to) = (at(s), at(s + attackSeconds))
            let installed = events.first { $0.kind == "installed" && $0.wallNs >= from && $0.wallNs < to }?.wallNs
            let firstDrop = drops.first { $0.wallNs >= from && $0.wallNs < to && $0.count > 0 }?.wallNs
            let mitigated = [installed, firstDrop].compactMap { $0 }.min()
            let dropped = drops.filter { $0.wallNs >= from && $0.wallNs < to &+ UInt64(grace * 1e9) }.reduce(0) { $0 + $1.count }
            rows.append(SoakAttack(attack: phases[1 + 2 * k].name, start_s: s,
                                   mitigated_ms: mitigated.map { Double(Int64(bitPattern: $0 &- from)) / 1e6 },
                                   dropped: dropped, sent: UInt64(rate * attackSeconds), legit_drops_after: legitAfter[k]))
        }
        let within = rows.filter { ($0.mitigated_ms ?? .infinity) <= 1_000 }.count
        let result = SoakResult(
            seconds: report.seconds, attacks: rows.count, mitigated_within_1s: within,
            legit_drops_outside_attacks: legit, legit_drop_examples: legitSpans,
            restarts: child.restarts, detach_attach: 1,
            table_checks: journal.checks + 1, table_mismatches: journal.mismatches + (finalCheck == nil ? 0 : 1),
            final_table: finalCheck ?? "matches its state",
            generator_sent: report.sent, notes: journal.lines, per_attack: rows)
        if json {
            printJSON(result)
        } else {
            var t = TextTable(["attack", "starts at", "mitigated after", "dropped / sent", "legit drops after"])
            for r in rows {
                t.add([r.attack, String(format: "%.0f s", r.start_s), r.mitigated_ms.map { String(format: "%.0f ms", $0) } ?? "NOT MITIGATED",
                       String(format: "%llu / %llu", r.dropped, r.sent), String(r.legit_drops_after)])
            }
            print(t.render())
            print("")
            for n in journal.lines { print("  " + n) }
            print("")
            print("attacks mitigated within 1 s      \(within) of \(rows.count)")
            print("legit drops outside attacks       \(legit)" + (legitSpans.isEmpty ? "" : " (" + legitSpans.joined(separator: ", ") + ")"))
            print("kill -9 restarts                  \(child.restarts)")
            print("table checks / mismatches         \(result.table_checks) / \(result.table_mismatches) (final: \(result.final_table))")
            print(result.passed ? "PASS" : "FAIL")
        }
        if !result.passed { throw ExitCode.failure }
    }
}

struct SoakAttack: Encodable {
    let attack: String
    let start_s: Double
    let mitigated_ms: Double?
    let dropped: UInt64
    let sent: UInt64
    /// Drops in the gap after this attack (only real users' traffic is sent then).
    let legit_drops_after: UInt64
}

struct SoakResult: Encodable {
    let seconds: Double
    let attacks: Int
    let mitigated_within_1s: Int
    let legit_drops_outside_attacks: UInt64
    let legit_drop_examples: [String]
    let restarts: Int
    let detach_attach: Int
    let table_checks: Int
    let table_mismatches: Int
    let final_table: String
    let generator_sent: UInt64
    let notes: [String]
    let per_attack: [SoakAttack]
    var passed: Bool { mitigated_within_1s == attacks && legit_drops_outside_attacks == 0 && table_mismatches == 0 }

    enum CodingKeys: String, CodingKey {
        case seconds, attacks, mitigated_within_1s, legit_drops_outside_attacks, legit_drop_examples, restarts, detach_attach
        case table_checks, table_mismatches, final_table, generator_sent, notes, per_attack, passed
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(attacks, forKey: .attacks)
        try c.encode(mitigated_within_1s, forKey: .mitigated_within_1s)
        try c.encode(legit_drops_outside_attacks, forKey: .legit_drops_outside_attacks)
        try c.encode(legit_drop_examples, forKey: .legit_drop_examples)
        try c.encode(restarts, forKey: .restarts)
        try c.encode(detach_attach, forKey: .detach_attach)
        try c.encode(table_checks, forKey: .table_checks)
        try c.encode(table_mismatches, forKey: .table_mismatches)
        try c.encode(final_table, forKey: .final_table)
        try c.encode(generator_sent, forKey: .generator_sent)
        try c.encode(notes, forKey: .notes)
        try c.encode(per_attack, forKey: .per_attack)
        try c.encode(passed, forKey: .passed)
    }
}

/// What happened to the loop during the soak, and how many table checks failed.
final class SoakJournal: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []
    private var failed = 0
    private var total = 0

    func note(_ line: String, inconsistent: Bool) {
        lock.withLock {
            entries.append(line)
            total += 1
            if inconsistent { failed += 1 }
        }
    }

    var lines: [String] { lock.withLock { entries } }
    var checks: Int { lock.withLock { total } }
    var mismatches: Int { lock.withLock { failed } }
}
