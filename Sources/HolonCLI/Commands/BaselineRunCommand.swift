import ArgumentParser
import BaselineLab
import CGeneratorShim
import Foundation

struct BaselineRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Drive readers and editors in real browsers (Chromium, WebKitGTK, Firefox) against the site.")

    @Option(help: "Reading people (subscribers).") var readers = 20
    @Option(help: "Editing people (log in, write posts with an uploaded image, moderate, reply).") var editors = 3
    @Option(help: "How long, e.g. 10m, 90s.") var duration = "10m"
    @Option(help: "Seed of the people's personas and choices.") var seed: UInt64 = 15
    @Option(help: "Multiplies think times (1 = human pace; 0.3 = hurried).") var pace = 1.0
    @Option(name: .customLong("without"), help: "Leave an engine out (chromium, webkit, firefox); its people use the others.")
    var without: [String] = []
    @Option(help: "OpenAI-compatible chat endpoint to direct the people, e.g. http://127.0.0.1:11434 (Ollama).") var llmEndpoint: String?
    @Option(help: "Model name for --llm-endpoint.") var llmModel: String?
    @Flag(help: "Print the summary as JSON.") var json = false

    func validate() throws {
        guard readers >= 0, editors >= 0, readers + editors >= 1 else { throw ValidationError("--readers + --editors must be at least 1") }
        guard pace > 0 else { throw ValidationError("--pace must be positive") }
        for e in without where Engine(rawValue: e) == nil { throw ValidationError("--without: unknown engine \"\(e)\" (chromium, webkit, firefox)") }
        if (llmEndpoint == nil) != (llmModel == nil) { throw ValidationError("--llm-endpoint and --llm-model go together") }
        _ = try parseDuration(duration)
    }

    func run() throws {
        var o = RunOptions()
        o.readers = readers
        o.editors = editors
        o.duration = Double(try parseDuration(duration).components.seconds)
        o.seed = seed
        o.pace = pace
        o.excluded = Set(without.compactMap(Engine.init))
        if let llmEndpoint, let llmModel {
            o.policy = try baselineStep { () throws(BaselineError) in try ChatPolicy(url: llmEndpoint, model: llmModel) }
        }
        let summary = try runBaseline(o, label: "baseline")
        printRunSummary(summary, json: json)
        if summary.agents.agentsFailed > 0 && summary.agents.pageLoads == 0 {
            throw InputError("holon baseline run: no agent could start: \(summary.agents.lastErrors.last ?? "")")
        }
    }
}

/// Runs the people with a live line on stderr and Ctrl-C as a clean stop.
func runBaseline(_ o: RunOptions, label: String, runner: BaselineRunner = BaselineRunner()) throws -> RunSummary {
    StopSignal.install()
    defer { StopSignal.restore() }
    return try baselineStep { () throws(BaselineError) in
        try runner.run(o) { t, s in
            if hg_stop_requested() != 0 { runner.stop() }
            FileHandle.standardError.write(("\r\u{1B}[2K" + liveLine(label, t: t, total: o.duration, s)).data(using: .utf8)!)
            if isatty(2) == 0 { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        }
    }
}

func liveLine(_ label: String, t: Double, total: Double, _ s: AgentSummary) -> String {
    func kind(_ k: String) -> String {
        guard let v = s.kinds[k] else { return "\(k)s: -" }
        return String(format: "%@s %d pages %d failed p50 %.2fs", k, v.pageLoads, v.failed, v.p50)
    }
    return String(format: "%@ %3.0f/%.0fs  agents %d  %@ | %@", label, t, total, s.agentsRunning, kind("reader"), kind("editor"))
}

func printRunSummary(_ r: RunSummary, json: Bool) {
    FileHandle.standardError.write("\r\u{1B}[2K".data(using: .utf8)!)
    if json {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        print(String(decoding: try! e.encode(r), as: UTF8.self))
        return
    }
    print(String(format: "baseline run: %.0f s, %d people (%@)", r.seconds, r.people,
                 r.engines.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))
    for k in ["reader", "editor"] {
        guard let v = r.agents.kinds[k] else { continue }
        print(String(format: "  %@s: %d page loads, %d failed, %d not found, p50 %.2f s, p95 %.2f s", k, v.pageLoads, v.failed, v.notFound, v.p50, v.p95))
    }
    print(String(format: "  page loads per minute: %.1f   failed: %.2f %%", r.pageLoadsPerMinute, r.failureFraction * 100))
    print("  actions: " + r.agents.actions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" + ((r.agents.actionFailures[$0.key] ?? 0) > 0 ? " (\(r.agents.actionFailures[$0.key]!) failed)" : "") }.joined(separator: ", "))
    print("  page loads by engine: " + r.agents.pageLoadsByEngine.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    let s = r.site
    print("site (nginx access log): \(s.requests) requests, \(s.bytes) bytes, \(s.distinctClients) distinct client addresses")
    print("  by kind: " + s.byKind.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    print("  by status: " + s.byStatus.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    print("  by engine (User-Agent): " + s.byEngine.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    print("  by scheme: " + s.byScheme.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    if r.agents.agentsFailed > 0 || !r.agents.lastErrors.isEmpty {
        print("  agents that could not start: \(r.agents.agentsFailed)")
        for e in r.agents.lastErrors { print("  error: \(e)") }
    }
}

struct BaselineCapture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture the baseline as the filter sees it (tcpdump on the filter's interface) to a pcap file.")
    @Option(help: "How long, e.g. 2m.") var duration = "1m"
    @Option(help: "The pcap file to write.") var out: String
    @Option(help: "Bytes kept per packet (headers are what the detector reads).") var snaplen = 256
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        _ = try parseDuration(duration)
        guard (64...65535).contains(snaplen) else { throw ValidationError("--snaplen must be 64…65535") }
    }

    func run() throws {
        let seconds = Double(try parseDuration(duration).components.seconds)
        StopSignal.install()
        defer { StopSignal.restore() }
        let packets = try baselineStep { () throws(BaselineError) in
            try FilterSideCapture.capture(seconds: seconds, to: out, snaplen: snaplen, stop: { hg_stop_requested() != 0 }) { t, bytes in
                FileHandle.standardError.write(String(format: "\r\u{1B}[2Kcapture %3.0f/%.0fs  %@ bytes", t, seconds, String(bytes)).data(using: .utf8)!)
            }
        }
        FileHandle.standardError.write("\r\u{1B}[2K".data(using: .utf8)!)
        let bytes = AccessLog.offset(out)
        if json {
            print("{\"packets\":\(packets),\"bytes\":\(bytes),\"file\":\"\(out)\"}")
        } else {
            print("captured \(packets) packets (\(bytes) bytes) to \(out)")
        }
    }
}
