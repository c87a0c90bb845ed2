import ArgumentParser
import Detection
import Foundation
import Packets
import Rules

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Run the detector over a pcap/pcapng capture and print incidents and rules."
    )

    @Argument(help: "Capture file (pcap or pcapng).")
    var file: String

    @Option(help: "Warmup: traffic time learned as normal before detecting (e.g. 30s, 500ms).")
    var warmup: String = "10s"

    @Option(help: "The capture holds one packet in N of the real traffic (for rates).")
    var sampled = 1

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        var config = DetectorConfig()
        config.warmup = try parseDuration(warmup)
        config.samplingRate = max(1, sampled)
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        let progress = Progress(total: max(1, size / 100), label: "analyze \(file)")
        let result: CaptureAnalysis
        do {
            result = try CaptureAnalysis.run(path: file, config: config) { progress.update($0) }
        } catch {
            throw InputError("\(error)")
        }
        progress.finish()
        let start = result.firstTimestamp ?? 0
        let stoppedBy = result.stoppedBy.map { "\($0)" }
        let report = AnalyzeReport(
            file: file, packets: result.packets, unparsable: result.unparsable,
            duration_s: result.duration, warmed_up: result.warmedUp,
            stopped_by: stoppedBy, unexplained_crossings: result.unexplainedCrossings,
            incidents: result.incidents.map { inc in
                AnalyzeReport.IncidentReport(
                    id: inc.id, opened_s: Double(inc.openedAt &- start) / 1e9,
                    closed_s: inc.closedAt.map { Double($0 &- start) / 1e9 }, name: inc.name,
                    estimated_pps: inc.estimatedPps, distinct_sources: inc.distinctSources,
                    rules: inc.rules.map { $0.rule(priority: config.rulePriority).text },
                    explanations: inc.rules.map(\.explanation),
                    short_rules: inc.rules.map(\.shortText))
            })
        if json {
            printJSON(report)
        } else {
            print(report.rendered)
        }
        if let stoppedBy { FileHandle.standardError.write("warning: \(stoppedBy)\n".data(using: .utf8)!) }
    }
}

struct AnalyzeReport: Codable {
    struct IncidentReport: Codable {
        let id: Int
        let opened_s: Double
        let closed_s: Double?
        let name: String
        let estimated_pps: Double?
        let distinct_sources: Int
        let rules: [String]
        let explanations: [String]
        let short_rules: [String]
    }

    let file: String
    let packets: Int
    let unparsable: Int
    let duration_s: Double
    let warmed_up: Bool
    let stopped_by: String?
    /// Drift crossings that faded with nothing to blame: not incidents, shown so none is hidden.
    let unexplained_crossings: Int
    let incidents: [IncidentReport]

    var rendered: String {
        var out = "\(file): \(packets) packets over \(String(format: "%.1f", duration_s)) s"
        if unparsable > 0 { out += ", \(unparsable) unparsable" }
        if !warmed_up { out += "\nthe capture ended during warmup: no detection (lower --warmup)" }
        if unexplained_crossings > 0 { out += "\n\(unexplained_crossings) brief drift crossing(s) with nothing to blame (not incidents)" }
        if incidents.isEmpty { return out + "\nno incidents" }
        var t = TextTable(["incident", "opened", "closed", "name", "est pps", "sources", "rule"])
        for i in incidents {
            for (k, r) in (i.short_rules.isEmpty ? ["(no rule derived)"] : i.short_rules).enumerated() {
                t.add(k == 0 ? [String(i.id), String(format: "%.3f s", i.opened_s), i.closed_s.map { String(format: "%.3f s", $0) } ?? "open",
                                i.name, i.estimated_pps.map { String(format: "%.0f", $0) } ?? "-", String(i.distinct_sources), r]
                             : ["", "", "", "", "", "", r])
            }
        }
        return out + "\n\n" + t.render()
    }
}

/// Parses `30s`, `500ms`, `2m`, or a bare number of seconds.
func parseDuration(_ text: String) throws -> Duration {
    let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("s", 1), ("m", 60)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let v = Double(text.dropLast(suffix.count)), v >= 0 { return .nanoseconds(Int64(v * scale * 1e9)) }
    }
    if let v = Double(text), v >= 0 { return .nanoseconds(Int64(v * 1e9)) }
    throw ValidationError("cannot read duration \"\(text)\": use e.g. 30s, 500ms, 2m")
}
