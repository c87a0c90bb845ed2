import ArgumentParser
import Foundation
import Generator
import Lab
import Packets
import Traffic

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Send a scenario's traffic out of an interface at a controlled rate (root).",
        discussion: """
        Without --interface it sends from the lab's generator side (holon-gen0 in holon-gen, \
        after `holon lab up`) to the filter side; xdp-live frames arrive there only while an XDP \
        program runs on it (`holon filter attach`).

        Examples:
          holon generate --builtin udp-flood
          holon generate --interface eth1 --dst-mac MAC --builtin udp-flood
          holon generate --profile syn-flood --pps 100000 --duration 10
          holon generate --scenario my.json --engine sendmmsg --json

        Ctrl-C stops cleanly and prints the summary. A rate the sender could not hold (it fell \
        behind by over 20 ms and skipped what it owed) is counted as skipped and warned of.
        """
    )

    @Option(help: "Interface to send on (default: the lab's generator side).") var interface: String?
    @Option(help: "Network namespace the interface lives in (entered with setns).") var netns: String?
    @Option(help: "Scenario JSON file.") var scenario: String?
    @Option(help: "Built-in scenario: \(Scenario.builtIn.map(\.name).joined(separator: ", ")).") var builtin: String?
    @Option(help: "Single-phase traffic: \(TrafficProfile.names.joined(separator: ", ")).") var profile: String?
    // `.unconditional`: a negative number is the option's value (then refused by its range
    // check), not a flag ArgumentParser cannot find.
    @Option(parsing: .unconditional, help: "Packets per second, up to 100,000,000 (a number, or 'max'); overrides every scenario phase's rate.") var pps: String?
    @Option(parsing: .unconditional, help: "Seconds, up to 86,400 (with --profile).") var duration: Double?
    @Option(help: "Send engine: sendmmsg, txring or xdp-live (default: sendmmsg up to 400 kpps, else the fastest that works).") var engine: String?
    @Option(parsing: .unconditional, help: "Sender threads, up to 4 per CPU (default: 1 below 300 kpps, one per core above).") var threads: Int?
    @Option(name: .customLong("dst-mac"), help: "Destination MAC (default: from the neighbour table).") var dstMAC: String?
    @Option(help: "Peer address whose MAC to use (pinged once if not yet resolved).") var peer: String?
    @Option(parsing: .unconditional, help: "Most copies of one frame per BPF_PROG_RUN call, up to 1,048,576 (xdp-live; each call costs ~30 ms of setup).") var xdpRepeat: Int = 65536
    @Flag(help: "Print the summary as JSON.") var json = false

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write("holon generate: \(message)\n".data(using: .utf8)!)
        return ExitCode(2)
    }

    func makePlan() throws(ExitCode) -> TrafficPlan {
        let sources = [scenario != nil, builtin != nil, profile != nil].filter { $0 }.count
        guard sources == 1 else {
            throw fail("give exactly one of --scenario FILE, --builtin NAME or --profile NAME (with --pps N --duration S)")
        }
        var rate: Double?
        var unlimited = false
        do {
            if let p = pps {
                rate = try GenerateLimits.pps(p)
                unlimited = rate == nil
            }
            if let d = duration { _ = try GenerateLimits.duration(d) }
            if let t = threads { _ = try GenerateLimits.threads(t) }
            _ = try GenerateLimits.xdpRepeat(xdpRepeat)
        } catch {
            throw fail(error.description)
        }
        if let path = scenario {
            let s: Scenario
            do { s = try Scenario.load(path: path) } catch {
                throw fail("\(error) (see `holon scenario show default` for a valid file)")
            }
            return try checked(s, pps: rate, unlimited: unlimited)
        }
        if let name = builtin {
            guard let s = Scenario.named(name) else { throw fail(GeneratorError.unknownScenario(name).description) }
            return try checked(s, pps: rate, unlimited: unlimited)
        }
        let name = profile!
        guard let prof = TrafficProfile(name) else { throw fail(GeneratorError.unknownProfile(name).description) }
        guard let d = duration else { throw fail("--profile needs --duration SECONDS (> 0)") }
        guard rate != nil || unlimited else { throw fail("--profile needs --pps N (or --pps max)") }
        return TrafficPlan.profile(prof, pps: rate, duration: d)
    }

    /// A scenario's plan, its own rates and length checked first (building the plan samples
    /// its packets at those rates).
    func checked(_ s: Scenario, pps rate: Double?, unlimited: Bool) throws(ExitCode) -> TrafficPlan {
        do { try GenerateLimits.check(s) } catch { throw fail(error.description) }
        return TrafficPlan.scenario(s, pps: rate, unlimited: unlimited)
    }

    /// The interface, its namespace and the peer to resolve: as given, else the lab's.
    func endpoint() throws(ExitCode) -> (interface: String, namespace: String?, peer: String?) {
        if let interface { return (interface, netns, peer) }
        guard netns == nil else { throw fail("--netns needs --interface") }
        let lab = Lab()
        guard lab.status().isUp else {
            throw fail("no --interface given and the lab is not up: run `holon lab up`, or pass --interface IF [--netns NS]")
        }
        let t = lab.topology
        let filterAddress = t.filterAddress.split(separator: "/").first.map(String.init)
        return (t.generatorInterface, t.generatorNamespace, peer ?? filterAddress)
    }

    func run() throws {
        let plan = try makePlan()
        let (interface, namespace, peer) = try endpoint()
        var options = GeneratorOptions(interface: interface, namespace: namespace, threads: threads, peer: peer)
        if let e = engine {
            guard let k = EngineKind(rawValue: e) else {
                throw fail("unknown engine '\(e)': use sendmmsg, txring or xdp-live")
            }
            options.engine = k
        }
        if let m = dstMAC {
            guard let mac = MACAddress(m) else { throw fail("--dst-mac must look like 02:00:00:00:00:02, got '\(m)'") }
            options.destinationMAC = mac
        }
        options.settings.xdpRepeat = xdpRepeat

        let tty = isatty(2) != 0
        StopSignal.install()
        defer { StopSignal.restore() }
        let generator = TrafficGenerator(plan: plan, options: options)
        let report: GeneratorReport
        do {
            report = try generator.run { s in
                let line = String(format: "[%@] %4ds  %12@ pps  sent %@  errors %@", s.phase, s.second,
                                  grouped(UInt64(s.pps.rounded())), grouped(s.totalSent), grouped(s.errors))
                FileHandle.standardError.write((tty ? "\r\u{1B}[2K" + line : line + "\n").data(using: .utf8)!)
            }
        } catch {
            throw fail(error.description)
        }
        if tty { FileHandle.standardError.write("\r\u{1B}[2K".data(using: .utf8)!) }
        for w in [report.pacingWarning, report.deliveryWarning].compactMap({ $0 }) {
            FileHandle.standardError.write("holon generate: warning: \(w)\n".data(using: .utf8)!)
        }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            print(String(decoding: try e.encode(report), as: UTF8.self))
            return
        }
        // "sent": what the engine handed the kernel (per phase); "delivered" / "tx dropped": what
        // the interface's counters say left it over the whole run (see Delivery).
        var t = TextTable(["phase", "seconds", "target pps", "sent", "errors", "skipped", "pps", "delivered", "tx dropped"])
        for p in report.phases {
            t.add([p.name, String(format: "%.2f", p.seconds), p.targetPPS.map { grouped(UInt64($0)) } ?? "max",
                   grouped(p.sent), grouped(p.errors), grouped(p.skipped), grouped(UInt64(p.pps.rounded())), "", ""])
        }
        t.add(["total", String(format: "%.2f", report.seconds), "", grouped(report.sent), grouped(report.errors),
               grouped(report.skipped), grouped(UInt64(report.pps.rounded())), report.delivered.map(grouped) ?? "?", report.txDropped.map(grouped) ?? "?"])
        print(t.render())
        print("engine \(report.engine.rawValue), \(report.threads) thread(s), \(report.interface)\(report.namespace.map { " in \($0)" } ?? ""), \(report.sourceMAC) → \(report.destinationMAC)\(report.interrupted ? ", interrupted" : "")")
    }
}

func grouped(_ v: UInt64) -> String {
    let s = String(v)
    var out = ""
    for (i, c) in s.enumerated() {
        if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}
