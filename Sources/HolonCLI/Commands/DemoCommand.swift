import ArgumentParser
import Detection
import Foundation
import Traffic

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a scenario in memory: detect each attack, derive rules, replay through them.",
        discussion: """
        No root, no lab: the scenario's packets meet the rule table the detector has written so far \
        (the reference matcher, with the data plane's semantics) and one packet in N goes to the \
        detector, as in the live loop. Labels are used only to score.
        """
    )

    @Option(help: "Scenario JSON file (default: the embedded default scenario).")
    var scenario: String?

    @Option(help: "Embedded scenario by name (\(Scenario.builtIn.map(\.name).joined(separator: ", "))).")
    var builtin: String?

    @Option(help: "The detector sees one packet in N.")
    var sample = 4

    @Option(help: "Warmup: traffic time learned as normal before detecting (e.g. 10s, 500ms).")
    var warmup: String = "10s"

    @Option(help: "How long a closed incident's rules stay in the table, as the sidecar holds them (e.g. 3s; 0s removes them at once; default: the detector's, 10 s).")
    var hold: String?

    @Flag(help: "Print one JSON object with phases and replay.")
    var json = false

    func run() throws {
        let sc = try loadScenario(file: scenario, builtin: builtin)
        var config = DetectorConfig()
        config.samplingRate = max(1, sample)
        config.warmup = try parseDuration(warmup)
        if let hold { config.hold = try parseDuration(hold) }
        let phases = sc.phases.map { Evaluation.PhaseInfo(name: $0.name, isAttack: $0.attack != nil) }
        var eval = Evaluation(config: config, phases: phases, samplingSeed: sc.seed)
        let total = sc.totalPackets
        let started = Date()
        var done = 0
        let progress = Progress(total: total, label: "demo \(sc.name)")
        for p in sc.stream() {
            eval.process(LabeledSample(features: p.features, isAttack: p.isAttack, phase: p.phase))
            done += 1
            if done & 0xFFFF == 0 { progress.update(done) }
        }
        eval.finish()
        progress.finish()
        let seconds = Date().timeIntervalSince(started)
        if json {
            printJSON(DemoReport(scenario: sc.name, packets: total, sampling: config.samplingRate,
                                 seconds: seconds, phases: eval.phases, replay: eval.replay))
        } else {
            printTable(eval, scenario: sc.name, seconds: seconds, packets: done)
        }
    }

    func printTable(_ eval: Evaluation, scenario: String, seconds: Double, packets: Int) {
        print("scenario \(scenario): \(packets) packets in \(String(format: "%.1f", seconds)) s, detector sees 1 in \(sample)\n")
        var t = TextTable(["phase", "packets", "attack", "detected", "name", "est pps", "true pps", "sources", "rule"])
        for p in eval.phases {
            let share = p.packets == 0 ? 0 : Double(p.attack_packets) / Double(p.packets)
            let detected: String
            if let ms = p.detected_after_ms {
                detected = p.is_attack ? String(format: "%.0f ms", ms) : String(format: "FALSE +%.0f ms", ms)
            } else {
                detected = p.is_attack ? "MISSED" : "-"
            }
            let rules = p.short_rules.isEmpty ? ["-"] : p.short_rules
            for (i, r) in rules.enumerated() {
                t.add(i == 0 ? [p.name, String(p.packets), String(format: "%.1f%%", share * 100), detected,
                                p.attack_name ?? "-", p.estimated_pps.map { String(format: "%.0f", $0) } ?? "-",
                                p.is_attack ? (p.true_pps.map { String(format: "%.0f", $0) } ?? "-") : "-",
                                p.distinct_sources.map(String.init) ?? "-", r]
                             : ["", "", "", "", "", "", "", "", r])
            }
        }
        print(t.render())
        let r = eval.replay
        print(String(format: "\nreplay through the derived rules: attack dropped %.3f%% from detection on (%d of %d; %.3f%% including the onset), legitimate dropped %.3f%% (%d of %d)",
                     r.attack_dropped_fraction * 100, r.attack_dropped_after_detection, r.attack_after_detection,
                     r.attack_dropped_fraction_including_onset * 100,
                     r.legit_dropped_fraction * 100, r.legit_dropped, r.legit_packets))
        if r.legit_delayed > 0 {
            print("legitimate connection requests delayed (their first SYN dropped, a retransmission passed): \(r.legit_delayed)")
        }
    }
}

struct DemoReport: Codable {
    let scenario: String
    let packets: Int
    let sampling: Int
    let seconds: Double
    let phases: [Evaluation.PhaseResult]
    let replay: Evaluation.Replay
}
