import ArgumentParser
import Detection
import Foundation
import Packets
import Rules
import Traffic

/// `holon bench memory`: issue 13's experiment. Every scenario is replayed (``Evaluation``, the
/// seeded offline loop `holon demo` runs) under four detectors that differ in one thing each:
///
/// - `cosine`: the detector as it is (drift = 1 − cosine with the baseline; rule memory);
/// - `residual`: drift from a subspace of the warmup's windows instead (``DriftSignal/residual``);
/// - `both`: either signal opens (``DriftSignal/both``);
/// - `engrams`: the cosine drift with the engram attack memory (``AttackMemoryKind/engrams``).
///
/// Per scenario: the median ms from an attack phase's start to its first incident, attacks never
/// detected, false incidents (incidents opened in phases with no attack), and for attacks that
/// come back (a kind seen before in the scenario) the median ms to their incident, how many
/// opened as recalls, and false recalls (a recall in a phase whose attack is not the recalled
/// incident's). Stress seeds also count seeds failing the acceptance list of StressTests.
/// Deterministic: labels only score; machine load changes nothing but the wall time.
struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Issue 13: cosine drift vs subspace residual vs both, rule memory vs engram memory, on every builtin, stress seeds and the browser capture.")

    @Flag(help: "One JSON object per scenario line, then the summaries.") var json = false
    @Option(help: "Run only scenarios whose name contains this text (builtins, alternate-*, stress-N, capture).") var filter: String?
    @Option(help: "Normal stress seeds 1...N.") var stress = 40
    @Option(help: "Hard stress seeds 101...(100+N).") var hard = 16
    @Option(help: "The browser capture run through the analyzer with a 30 s warmup, as CapturedBaselineTests runs it (must raise no incident).")
    var capture = "Tests/BaselineLabTests/Fixtures/baseline-23-people.pcap"
    @Option(help: "Components of the residual signal's subspace.") var rank = 8
    @Option(help: "Worker threads.") var threads = 2

    enum Variant: String, CaseIterable, Codable {
        case cosine, residual, both, engrams
        func apply(_ c: inout DetectorConfig) {
            switch self {
            case .cosine: c.driftSignal = .cosine; c.attackMemory = .rules
            case .residual: c.driftSignal = .residual; c.attackMemory = .rules
            case .both: c.driftSignal = .both; c.attackMemory = .rules
            case .engrams: c.driftSignal = .cosine; c.attackMemory = .engrams
            }
        }
    }

    struct Job: Sendable {
        let name: String
        let group: String
        let scenario: Scenario?
        let sampling: Int
    }

    struct Outcome: Codable {
        var detectMs: [Double] = []
        var missed = 0
        var falseIncidents = 0
        var returnMs: [Double] = []
        var recalls = 0
        var falseRecalls = 0
        var acceptanceFailures: [String] = []
        var unexplainedCrossings = 0
    }

    /// Work handed out and results gathered across the worker threads.
    final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var rows: [Row]
        var next = 0
        var done = 0
        init(rows: [Row]) { self.rows = rows }
        func take(below n: Int) -> Int? {
            lock.withLock {
                guard next < n else { return nil }
                defer { next += 1 }
                return next
            }
        }
        func put(_ o: Outcome, row: Int, variant: String) -> Int {
            lock.withLock {
                rows[row].outcomes[variant] = o
                done += 1
                return done
            }
        }
    }

    struct Row: Codable {
        let scenario: String
        let group: String
        var outcomes: [String: Outcome] = [:]
    }

    func validate() throws {
        // The subspace learns from window vectors at the detector's dimension; 64 components are
        // far past where the residual stopped improving (rank 4–16 gave the same numbers).
        guard (1...64).contains(rank), stress >= 0, hard >= 0, threads >= 1 else {
            throw ValidationError("need --rank 1…64, --stress ≥ 0, --hard ≥ 0, --threads ≥ 1")
        }
    }

    func run() throws {
        var jobs: [Job] = []
        for s in Scenario.builtIn { jobs.append(Job(name: s.name, group: "builtin", scenario: s, sampling: 4)) }
        for s in Self.alternating { jobs.append(Job(name: s.name, group: "alternating", scenario: s, sampling: 4)) }
        jobs.append(Job(name: Scenario.growthThenAttacks.name, group: "change+attacks", scenario: .growthThenAttacks, sampling: 4))
        if stress > 0 {
            for seed in 1...UInt64(stress) {
                let (s, sampling) = Scenario.stress(seed: seed, hard: false)
                jobs.append(Job(name: s.name, group: "stress", scenario: s, sampling: sampling))
            }
        }
        if hard > 0 {
            for seed in 101...UInt64(100 + hard) {
                let (s, sampling) = Scenario.stress(seed: seed, hard: true)
                jobs.append(Job(name: s.name + "-hard", group: "stress-hard", scenario: s, sampling: sampling))
            }
        }
        if FileManager.default.fileExists(atPath: capture) {
            jobs.append(Job(name: "capture", group: "capture", scenario: nil, sampling: 1))
            // The analyzer's default warmup: shorter than CapturedBaselineTests allows this capture.
            jobs.append(Job(name: "capture-warmup-10s", group: "capture-10s", scenario: nil, sampling: 1))
        } else {
            FileHandle.standardError.write("bench memory: no capture at \(capture), skipped\n".data(using: .utf8)!)
        }
        if let filter {
            jobs = jobs.filter { $0.name.contains(filter) }
            guard !jobs.isEmpty else { throw ValidationError("no scenario name contains \"\(filter)\" (builtins by name, alternate-*, growth-then-attacks, stress-N, stress-N-hard, capture)") }
        }
        let work = jobs.flatMap { j in Variant.allCases.map { (j, $0) } }
        let index = Dictionary(uniqueKeysWithValues: jobs.enumerated().map { ($1.name, $0) })
        let state = Shared(rows: jobs.map { Row(scenario: $0.name, group: $0.group) })
        let rank = self.rank, capture = self.capture
        DispatchQueue.concurrentPerform(iterations: max(1, threads)) { _ in
            while let k = state.take(below: work.count) {
                let (job, variant) = work[k]
                let outcome = Self.measure(job, variant, rank: rank, capture: capture)
                let done = state.put(outcome, row: index[job.name]!, variant: variant.rawValue)
                FileHandle.standardError.write("\u{1B}[2K[\(done)/\(work.count)] \(job.name) \(variant.rawValue)\r".data(using: .utf8)!)
            }
        }
        let rows = state.rows
        FileHandle.standardError.write("\u{1B}[2K".data(using: .utf8)!)
        report(rows)
    }

    // MARK: Scenarios

    /// Two different attacks alternating at the same host, 2 s on and 3 s off, three times each:
    /// a memory must reinstate the right one's rules each time, never the other's.
    static let alternating: [Scenario] = {
        let victim = IPPrefix("198.51.100.10")!
        func make(_ name: String, seed: UInt64, _ a: (AttackKind, AttackSources), _ b: (AttackKind, AttackSources)) -> Scenario {
            var phases = [ScenarioPhase(name: "baseline", duration: 20, normalRate: 5_000)]
            for i in 1...3 {
                for (kind, sources) in [a, b] {
                    phases.append(ScenarioPhase(name: "\(kind.rawValue)-\(i)", duration: 2, normalRate: 5_000,
                                                attack: AttackSpec(kind: kind, rate: 150_000, sources: sources, victim: victim)))
                    phases.append(ScenarioPhase(name: "pause-\(kind.rawValue)-\(i)", duration: 3, normalRate: 5_000))
                }
            }
            phases.append(ScenarioPhase(name: "recovery", duration: 5, normalRate: 5_000))
            return Scenario(name: name, seed: seed, phases: phases)
        }
        return [
            make("alternate-udp-ntp", seed: 131, (.udpFlood, .block("45.83.0.0/16", count: 5000)), (.ntpAmplification, .reflectors(1500))),
            make("alternate-syn-ack", seed: 132, (.synFlood, .spoofed), (.ackFlood, .spoofed)),
            make("alternate-dns-ntp", seed: 133, (.dnsReflection, .reflectors(2000)), (.ntpAmplification, .reflectors(1500))),
            make("alternate-udp-frag", seed: 134, (.udpFlood, .block("45.83.0.0/16", count: 5000)), (.fragmentFlood, .spoofed)),
        ]
    }()

    // MARK: Measuring

    static func measure(_ job: Job, _ variant: Variant, rank: Int, capture: String) -> Outcome {
        var config = DetectorConfig()
        config.samplingRate = job.sampling
        config.subspaceRank = rank
        variant.apply(&config)
        var out = Outcome()
        guard let sc = job.scenario else {
            // The capture, as `holon analyze --warmup 30s` runs it (CapturedBaselineTests).
            config.warmup = job.group == "capture" ? .seconds(30) : .seconds(10)
            if let r = try? CaptureAnalysis.run(path: capture, config: config) {
                out.falseIncidents = r.incidents.count
                out.unexplainedCrossings = r.unexplainedCrossings
            } else {
                out.acceptanceFailures.append("capture unreadable")
            }
            return out
        }
        var eval = Evaluation(config: config, phases: sc.phases.map { .init(name: $0.name, isAttack: $0.attack != nil) },
                              samplingSeed: sc.seed)
        for p in sc.stream() { eval.process(LabeledSample(features: p.features, isAttack: p.isAttack, phase: p.phase)) }
        eval.finish()
        let phaseOf = Dictionary(eval.phases.enumerated().flatMap { i, p in p.incidents.map { ($0, i) } }, uniquingKeysWith: { a, _ in a })
        var seen = Set<AttackKind>()
        for (i, p) in eval.phases.enumerated() {
            let kind = sc.phases[i].attack?.kind
            if let kind {
                if let ms = p.detected_after_ms { out.detectMs.append(ms) } else { out.missed += 1 }
                if seen.contains(kind), let ms = p.detected_after_ms { out.returnMs.append(ms) }
                seen.insert(kind)
            } else {
                out.falseIncidents += p.incidents.count
            }
            for id in p.incidents {
                guard let inc = eval.detector.incidents.first(where: { $0.id == id }),
                      let source = recalledFrom(inc) else { continue }
                out.recalls += 1
                let sourceKind = phaseOf[source].flatMap { sc.phases[$0].attack?.kind }
                if kind == nil || sourceKind != kind { out.falseRecalls += 1 }
            }
        }
        if job.group.hasPrefix("stress") || job.group == "change+attacks" { out.acceptanceFailures = acceptance(eval) }
        out.unexplainedCrossings = eval.detector.unexplainedCrossings
        return out
    }

    /// The incident a recall reinstated (its rules' note: "recalled: incident N's rule…").
    static func recalledFrom(_ inc: Incident) -> Int? {
        guard let text = inc.rules.first?.explanation, text.hasPrefix("recalled: incident ") else { return nil }
        let digits = text.dropFirst("recalled: incident ".count).prefix { $0.isNumber }
        return Int(digits)
    }

    /// StressTests' acceptance list (Harness.checkAcceptance), as failure texts.
    static func acceptance(_ eval: Evaluation) -> [String] {
        var failures: [String] = []
        for p in eval.phases {
            if p.is_attack {
                guard let ms = p.detected_after_ms else { failures.append("\(p.name) not detected"); continue }
                if ms > 1000 || ms < 0 { failures.append("\(p.name) detected after \(Int(ms)) ms") }
                if p.rules.isEmpty { failures.append("\(p.name) no rule") }
                if let est = p.estimated_pps, let truth = p.true_pps {
                    if abs(est - truth) / truth > 0.02 { failures.append("\(p.name) rate \(Int(est)) vs \(Int(truth))") }
                } else {
                    failures.append("\(p.name) no rate")
                }
            } else if p.detected_after_ms != nil {
                failures.append("false incident in \(p.name)")
            }
        }
        if eval.replay.attack_dropped_fraction < 0.995 { failures.append("attack dropped \(eval.replay.attack_dropped_fraction)") }
        if eval.replay.legit_dropped_fraction > 0.005 { failures.append("legit dropped \(eval.replay.legit_dropped_fraction)") }
        for rule in eval.writtenRules where Set(rule.predicates.map(\.field)).isSubset(of: [.proto, .dstIP]) {
            failures.append("over-broad rule \(rule.text)")
        }
        return failures
    }

    // MARK: Reporting

    static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    func ms(_ x: Double?) -> String { x.map { String(format: "%.0f", $0) } ?? "-" }

    func report(_ rows: [Row]) {
        let detectVariants: [Variant] = [.cosine, .residual, .both]
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = .sortedKeys
            for r in rows { print(String(decoding: try! enc.encode(r), as: UTF8.self)) }
        } else {
            print(pad("scenario", 24) + lpad("detect ms cos/res/both", 24) + lpad("missed", 10) + lpad("false inc", 12)
                  + lpad("return ms rules/engr", 22) + lpad("recalls", 10) + lpad("false rec", 11) + lpad("accept fail", 13))
            for r in rows {
                func o(_ v: Variant) -> Outcome { r.outcomes[v.rawValue] ?? Outcome() }
                let detect = detectVariants.map { ms(Self.median(o($0).detectMs)) }.joined(separator: "/")
                let missed = detectVariants.map { String(o($0).missed) }.joined(separator: "/")
                let fi = Variant.allCases.map { String(o($0).falseIncidents) }.joined(separator: "/")
                let ret = [Variant.cosine, .engrams].map { ms(Self.median(o($0).returnMs)) }.joined(separator: "/")
                let rec = [Variant.cosine, .engrams].map { String(o($0).recalls) }.joined(separator: "/")
                let frec = [Variant.cosine, .engrams].map { String(o($0).falseRecalls) }.joined(separator: "/")
                let acc = Variant.allCases.map { String(o($0).acceptanceFailures.count) }.joined(separator: "/")
                print(pad(r.scenario, 24) + lpad(detect, 24) + lpad(missed, 10) + lpad(fi, 12) + lpad(ret, 22)
                      + lpad(rec, 10) + lpad(frec, 11) + lpad(acc, 13))
            }
            print("(false inc and accept fail: cosine/residual/both/engrams; recalls: rules memory/engram memory, both on the cosine drift)")
        }
        // Summaries per group and variant.
        struct Summary: Codable {
            let group: String, variant: String
            let median_detect_ms: Double?, attacks: Int, missed: Int, false_incidents: Int
            let median_return_ms: Double?, recalls: Int, false_recalls: Int, failing_scenarios: Int, unexplained_crossings: Int
        }
        var summaries: [Summary] = []
        for group in ["builtin", "alternating", "change+attacks", "stress", "stress-hard", "capture", "capture-10s"] {
            let rs = rows.filter { $0.group == group }
            guard !rs.isEmpty else { continue }
            for v in Variant.allCases {
                let os = rs.compactMap { $0.outcomes[v.rawValue] }
                let d = os.flatMap(\.detectMs)
                summaries.append(Summary(
                    group: group, variant: v.rawValue, median_detect_ms: Self.median(d), attacks: d.count + os.reduce(0) { $0 + $1.missed },
                    missed: os.reduce(0) { $0 + $1.missed }, false_incidents: os.reduce(0) { $0 + $1.falseIncidents },
                    median_return_ms: Self.median(os.flatMap(\.returnMs)), recalls: os.reduce(0) { $0 + $1.recalls },
                    false_recalls: os.reduce(0) { $0 + $1.falseRecalls },
                    failing_scenarios: os.filter { !$0.acceptanceFailures.isEmpty }.count,
                    unexplained_crossings: os.reduce(0) { $0 + $1.unexplainedCrossings }))
            }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = .sortedKeys
            for s in summaries { print(String(decoding: try! enc.encode(s), as: UTF8.self)) }
        } else {
            print("")
            print(pad("group", 14) + pad("variant", 10) + lpad("median detect ms", 18) + lpad("attacks", 9) + lpad("missed", 8)
                  + lpad("false inc", 11) + lpad("return ms", 11) + lpad("recalls", 9) + lpad("false rec", 11)
                  + lpad("failing", 9) + lpad("unexpl", 8))
            for s in summaries {
                print(pad(s.group, 14) + pad(s.variant, 10) + lpad(ms(s.median_detect_ms), 18) + lpad(String(s.attacks), 9)
                      + lpad(String(s.missed), 8) + lpad(String(s.false_incidents), 11) + lpad(ms(s.median_return_ms), 11)
                      + lpad(String(s.recalls), 9) + lpad(String(s.false_recalls), 11) + lpad(String(s.failing_scenarios), 9)
                      + lpad(String(s.unexplained_crossings), 8))
            }
            let failing = rows.flatMap { r in Variant.allCases.compactMap { v -> String? in
                guard let f = r.outcomes[v.rawValue]?.acceptanceFailures, !f.isEmpty else { return nil }
                return "  \(r.scenario) \(v.rawValue): \(f.joined(separator: "; "))"
            } }
            if !failing.isEmpty {
                print("\nacceptance failures:")
                failing.forEach { print($0) }
            }
        }
    }
}
