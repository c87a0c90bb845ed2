import ArgumentParser
import BaselineLab
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
    @Flag(help: "One JSON object per result line.") var json = false

    struct Line: Encodable {
        let name: String
        let value: Double
    }

    func validate() throws {
        let seconds = Double(try parseDuration(duration).components.seconds)
        guard warmup >= 10, seconds >= Double(warmup) + 30 else { throw ValidationError("need --warmup ≥ 10 and --duration at least 30 s longer") }
        guard readers + editors >= 1, pace > 0 else { throw ValidationError("need at least one person and a positive --pace") }
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
        let summary = try runBaseline(o, label: "bench baseline")
        let used = cpu.stop()
        let loop = watcher.snapshot
        guard watcher.isRunning else { throw InputError("holon bench baseline: holon run exited early: \(loop.lastEvents.last ?? "no events")") }
        let lines = [
            Line(name: "baseline.page_loads_per_minute", value: summary.pageLoadsPerMinute),
            Line(name: "baseline.cpu_fraction", value: used.fraction),
            Line(name: "baseline.false_incidents", value: Double(loop.incidents)),
            Line(name: "baseline.false_rules", value: Double(loop.rules)),
            Line(name: "baseline.failed_page_load_fraction", value: summary.failureFraction),
            Line(name: "baseline.distinct_client_addresses", value: Double(summary.site.distinctClients)),
            Line(name: "baseline.filter_packets", value: Double(loop.filterPackets)),
        ]
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            for l in lines { print(String(decoding: try e.encode(l), as: UTF8.self)) }
        } else {
            printRunSummary(summary, json: false)
            print("loop: " + (loop.calibrated ? "calibrated" : "NOT CALIBRATED") + ", \(loop.incidents) incident(s), \(loop.rules) rule(s)")
            for l in lines { print(pad(l.name, 40) + lpad(String(format: "%.4g", l.value), 14)) }
        }
        for e in loop.lastEvents where loop.incidents + loop.rules > 0 { FileHandle.standardError.write("holon run: \(e)\n".data(using: .utf8)!) }
    }
}
