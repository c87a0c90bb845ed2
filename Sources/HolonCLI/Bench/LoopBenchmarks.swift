import ArgumentParser
import ControlPlane
import Dataplane
import Flowspec
import Foundation
import Generator
import Lab
import Packets
import Rules
import Sidecar
import Traffic

/// `holon bench loop`: the whole live loop in a lab the bench builds — the generator sends
/// normal traffic, then a series of attacks with quiet gaps; the sidecar, reading only the XDP
/// filter's samples, must detect each and install its rule. Reports, per attack and as medians,
/// the time from the attack's first packet to the incident (detection, in traffic time) and to
/// the rule being in the filter (mitigation, wall clock).
struct BenchLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loop",
        abstract: "Time from an attack's first packet to its rule in the XDP filter (root; builds its own lab)."
    )

    @OptionGroup var options: BenchOptions
    @Option(help: "Attacks to send (kinds in turn: syn-flood, udp-flood, icmp-flood, ack-flood, ntp-amplification).") var attacks = 5
    @Option(help: "Attack packets per second.") var rate = 100_000.0
    @Option(help: "Normal packets per second, throughout.") var normal = 5_000.0
    @Option(help: "Seconds of normal traffic the detector learns from.") var warmup = 6
    @Option(help: "The filter samples one packet in this many.") var sampleEvery: UInt32 = 10
    @Option(help: "Rules the filter holds before the loop starts: an operator's blocklist of /32 sources in 100.64.0.0/10 the bench never sends from, against which the loop's rules go in.") var tableRules = 0
    @Flag(help: "Also announce each rule as BGP Flowspec through a gobgpd to a second gobgpd (both on loopback, started by the bench) and measure loop.announce_ms: from the rule in XDP to the route at the router.") var bgp = false

    static let kinds: [AttackKind] = [.synFlood, .udpFlood, .icmpFlood, .ackFlood, .ntpAmplification]

    struct Line: Encodable {
        let name: String
        /// null when nothing was measured (no attack detected).
        @NullWhenAbsent var value: Double?
        let rounds: [Double]

        init(name: String, value: Double, rounds: [Double]) {
            self.name = name
            self.value = value.isNaN ? nil : value
            self.rounds = rounds
        }
    }

    struct AttackResult {
        var kind: AttackKind
        var detectMs: Double?
        var mitigateMs: Double?
        /// From the rule in XDP to its route at the router (`--bgp`).
        var announceMs: Double?
        var rules: [String] = []
    }

    func run() throws {
        guard geteuid() == 0 else {
            FileHandle.standardError.write("holon bench loop: needs root (namespaces, XDP): run it with sudo\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
        guard attacks >= 1, warmup >= 2, rate >= 1_000, normal >= 100, (0...1_000_000).contains(tableRules) else {
            throw ValidationError("need --attacks ≥ 1, --warmup ≥ 2, --rate ≥ 1000, --normal ≥ 100, --table-rules 0…1000000")
        }
        let tag = "hb\(getpid() % 100_000)"
        let lab = Lab(.scratch(prefix: "holon-bench", tag: tag))
        try? lab.down()
        try lab.up()
        defer { try? lab.down() }
        let dpOptions = DataplaneOptions(pinDirectory: "/sys/fs/bpf/holon-bench-\(tag)", namespace: lab.topology.filterNamespace,
                                         interface: lab.topology.filterInterface,
                                         stateDirectory: NSTemporaryDirectory() + "holon-bench-\(tag)")
        defer {
            _ = try? Dataplane.detach(dpOptions, force: true, forgetRules: true)
            try? FileManager.default.removeItem(atPath: dpOptions.stateDirectory)
        }
        _ = try? Dataplane.detach(dpOptions, force: true, forgetRules: true)
        let (dataplane, _) = try dataplaneStep { () throws(DataplaneError) in try Dataplane.attach(dpOptions) }
        if tableRules > 0 {
            let blocklist = (0..<tableRules).map { i in
                Rule(id: UInt32(i + 1), match: [.equals(.proto, 17), .prefix(.srcIP, .v4(0x6440_0000 &+ UInt32(i)), length: 32), .equals(.dstPort, 9)],
                     action: .drop, priority: 10)
            }
            try dataplaneStep { () throws(DataplaneError) in _ = try dataplane.replace(with: blocklist) }
        }

        // The scenario: learning, then each attack followed by a gap longer than the hold.
        var phases = [ScenarioPhase(name: "baseline", duration: Double(warmup) + 3, normalRate: normal)]
        for i in 0..<attacks {
            let kind = Self.kinds[i % Self.kinds.count]
            phases.append(ScenarioPhase(name: "\(kind.rawValue)-\(i + 1)", duration: 3, normalRate: normal,
                                        attack: AttackSpec(kind: kind, rate: rate, victim: IPPrefix("198.51.100.10")!)))
            phases.append(ScenarioPhase(name: "gap-\(i + 1)", duration: 4, normalRate: normal))
        }
        let scenario = Scenario(name: "bench-loop", seed: 17, phases: phases)

        var config = SidecarConfig()
        config.sampleEvery = sampleEvery
        config.detector.warmup = .seconds(warmup)
        config.hold = .seconds(1)
        let settings = config
        let log = EventLog()
        let loop = LoopThread()
        let network = try bgp ? BenchRouter() : nil
        defer { network?.stop() }
        let thread = Thread {
            let sidecar = Sidecar(dataplane: dataplane, config: settings)
            do {
                try sidecar.run(until: { loop.stopRequested }) { event in
                    log.append(event)
                    network?.announcer.follow(event, filter: "bench", baseline: sidecar.detector.isWarmedUp ? sidecar.detector.baselinePackets : nil)
                }
            } catch {
                loop.error = error
            }
            loop.finish()
        }
        thread.start()

        var o = GeneratorOptions(interface: lab.topology.generatorInterface, namespace: lab.topology.generatorNamespace,
                                 engine: .sendmmsg)
        o.peer = lab.topology.filterAddress.split(separator: "/").first.map(String.init)
        let total = scenario.phases.reduce(0) { $0 + $1.duration }
        let report: GeneratorReport
        do {
            report = try TrafficGenerator(plan: .scenario(scenario), options: o).run { s in
                FileHandle.standardError.write("\u{1B}[2K[\(s.phase)] \(s.second)/\(Int(total)) s\r".data(using: .utf8)!)
            }
        } catch {
            loop.requestStop()
            throw error
        }
        FileHandle.standardError.write("\u{1B}[2K".data(using: .utf8)!)
        report.warnIfNotAsPlanned(bench: "loop")
        usleep(300_000)
        loop.requestStop()
        while !loop.isFinished { usleep(10_000) }
        if let e = loop.error { throw e }

        // Score each attack from the events: incidents opened while it ran, their rules.
        var results: [AttackResult] = []
        var offset = 0.0
        var falseIncidents = 0
        let events = log.events
        for phase in scenario.phases {
            let start = report.startedAtNs &+ UInt64(offset * 1e9)
            let end = start &+ UInt64(phase.duration * 1e9)
            offset += phase.duration
            let opened = events.compactMap { e -> (Int, UInt64)? in
                if case .opened(let i) = e.event, i.openedAt >= start, i.openedAt < end { return (i.id, i.openedAt) }
                return nil
            }
            guard let attack = phase.attack else {
                falseIncidents += opened.count
                continue
            }
            var r = AttackResult(kind: attack.kind)
            if let (id, at) = opened.first {
                r.detectMs = Double(Int64(bitPattern: at &- start)) / 1e6
                for e in events {
                    if case .installed(let incident, let rules, _) = e.event, incident == id {
                        if r.mitigateMs == nil { r.mitigateMs = Double(Int64(bitPattern: e.wallNs &- start)) / 1e6 }
                        r.rules += rules.map(SidecarEvent.short)
                        if r.announceMs == nil, let network, let seen = rules.compactMap({ network.seenAt($0) }).min() {
                            r.announceMs = Double(Int64(bitPattern: seen &- e.wallNs)) / 1e6
                        }
                    }
                }
            }
            results.append(r)
        }

        let detect = results.compactMap(\.detectMs), mitigate = results.compactMap(\.mitigateMs), announce = results.compactMap(\.announceMs)
        let lines = [
            Line(name: "loop.detect_ms", value: median(detect), rounds: detect),
            Line(name: "loop.mitigate_ms", value: median(mitigate), rounds: mitigate),
        ] + (bgp ? [Line(name: "loop.announce_ms", value: median(announce), rounds: announce),
                    Line(name: "loop.announced", value: Double(announce.count), rounds: [])] : []) + [
            Line(name: "loop.attacks_mitigated", value: Double(mitigate.count), rounds: []),
            Line(name: "loop.false_incidents", value: Double(falseIncidents), rounds: []),
        ].filter { options.filter.map($0.name.contains) ?? true }
        if options.json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            for l in lines { print(String(decoding: try e.encode(l), as: UTF8.self)) }
            return
        }
        var t = TextTable(["attack", "detected after", "rule in the filter after"] + (bgp ? ["at the router after XDP"] : []) + ["rule"])
        for r in results {
            let announced = bgp ? [r.announceMs.map { String(format: "%.0f ms", $0) } ?? "not announced"] : []
            t.add([r.kind.rawValue, r.detectMs.map { String(format: "%.0f ms", $0) } ?? "not detected",
                   r.mitigateMs.map { String(format: "%.0f ms", $0) } ?? "-"] + announced + [r.rules.first ?? "-"])
            for extra in r.rules.dropFirst() { t.add(["", "", ""] + (bgp ? [""] : []) + [extra]) }
        }
        print(t.render())
        // Why a rule stayed off the network: the guardrails' own words.
        for a in network?.announcer.announcements ?? [] where a.state != .announced && a.state != .withdrawn {
            print("rule \(a.ruleID) \(a.state.rawValue): \(a.detail)")
        }
        print("")
        for l in lines {
            let unit = l.name.hasSuffix("_ms") ? " ms (median)" : ""
            print(pad(l.name, 28) + lpad(l.value.map { String(format: "%.0f", $0) + unit } ?? "-", 20))
        }
    }
}

/// Events with the wall-clock time the loop reported them.
final class EventLog: @unchecked Sendable {
    struct Entry {
        var wallNs: UInt64
        var event: SidecarEvent
    }
    private let lock = NSLock()
    private var entries: [Entry] = []

    func append(_ e: SidecarEvent) {
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        lock.withLock { entries.append(Entry(wallNs: now, event: e)) }
    }

    var events: [Entry] { lock.withLock { entries } }
}
