import Dataplane
import Detection
import Foundation
import Generator
import Lab
import Packets
import Rules
import Sidecar
import TestSupport
import Testing
import Traffic

/// The whole loop on a private lab: the generator sends normal traffic, then a SYN flood, then
/// normal traffic again through the XDP filter; the sidecar, reading only the filter's samples,
/// must learn, detect, install a rule that drops the flood and no normal packet, and retire it.
@Suite("Sidecar live loop (root)", .ownThread, .serialized, .enabled(if: geteuid() == 0))
struct LiveLoopTests {
    final class Box: @unchecked Sendable {
        var events: [SidecarEvent] = []
        /// Wall clock (ns since the epoch) when the first rule was in the filter.
        var firstInstallNs: UInt64?
        var stats = SidecarStats()
        var error: (any Error)?
        var report: GeneratorReport?
        let stop = NSLock()
        var stopped = false
        func requestStop() { stop.withLock { stopped = true } }
        var shouldStop: Bool { stop.withLock { stopped } }
    }

    /// A SYN flood (a header rule), and a flood whose headers are all random but whose payloads
    /// carry a marker, over legitimate QUIC, RTP and DNS to the same host (a byte rule, read by
    /// the XDP program from the packet).
    @Test(arguments: [AttackKind.synFlood, .payloadMarker])
    func learnsDetectsDropsAndRetires(_ kind: AttackKind) throws {
        let tag = "hs\(getpid() % 100_000)"
        let lab = Lab(.scratch(prefix: "holon-stest", tag: tag))
        try? lab.down()
        try lab.up()
        let options = DataplaneOptions(pinDirectory: "/sys/fs/bpf/holon-stest-\(tag)", namespace: lab.topology.filterNamespace,
                                       interface: lab.topology.filterInterface, stateDirectory: NSTemporaryDirectory() + "holon-stest-\(tag)")
        defer {
            _ = try? Dataplane.detach(options, force: true, forgetRules: true)
            try? lab.down()
            try? FileManager.default.removeItem(atPath: options.stateDirectory)
        }
        _ = try? Dataplane.detach(options, force: true, forgetRules: true)
        let (dataplane, _) = try Dataplane.attach(options)

        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(6)
        config.hold = .seconds(2)
        let settings = config
        let box = Box()
        let loop = Thread {
            let sidecar = Sidecar(dataplane: dataplane, config: settings)
            do {
                try sidecar.run(until: { box.shouldStop }) { event in
                    if case .installed = event, box.firstInstallNs == nil {
                        box.firstInstallNs = UInt64(Date().timeIntervalSince1970 * 1e9)
                    }
                    box.events.append(event)
                }
            } catch {
                box.error = error
            }
            box.stats = sidecar.stats
        }
        loop.start()

        let victim = IPPrefix("198.51.100.10")!
        let scenario = Scenario(name: "live", seed: 9, normal: kind == .payloadMarker ? Scenario.payloadMarker.normal : NormalProfile(), phases: [
            ScenarioPhase(name: "baseline", duration: 9, normalRate: 4000),
            // Five seconds, so that a detection slowed by a loaded CI machine (0.3 s seen) still
            // leaves 90 % of the flood to the rule.
            ScenarioPhase(name: kind.rawValue, duration: 5, normalRate: 4000,
                          attack: AttackSpec(kind: kind, rate: 40_000, victim: victim)),
            ScenarioPhase(name: "after", duration: 4, normalRate: 4000),
        ])
        let plan = TrafficPlan.scenario(scenario)
        var o = GeneratorOptions(interface: lab.topology.generatorInterface, namespace: lab.topology.generatorNamespace,
                                 engine: .sendmmsg, threads: 1)
        o.peer = lab.topology.filterAddress.split(separator: "/").first.map(String.init)
        let before = try dataplane.stats()
        let report = try TrafficGenerator(plan: plan, options: o).run()
        usleep(1_500_000)  // the hold (2 s) runs out after "after" ends
        box.requestStop()
        while !loop.isFinished { usleep(10_000) }
        if let e = box.error { throw e }
        let after = try dataplane.stats()

        // What happened, in order.
        let opened = box.events.compactMap { if case .opened(let i) = $0 { i } else { nil } }
        let installed = box.events.compactMap { if case .installed(_, let r, _) = $0 { r } else { nil } }.flatMap { $0 }
        let removed = box.events.compactMap { if case .removed(let ids, _) = $0 { ids } else { nil } }.flatMap { $0 }
        #expect(box.events.contains { if case .calibrated = $0 { true } else { false } })
        #expect(opened.count == 1, "incidents: \(opened.map(\.id))")
        #expect(!installed.isEmpty)
        #expect(installed.allSatisfy { $0.id >= config.ruleIDBase })
        #expect(Set(removed) == Set(installed.map(\.id)), "every rule retired after the hold")
        #expect(dataplane.rules.isEmpty)

        // The flood went to the victim: the rules name it, and none matches a normal packet.
        let table = try RuleTable(installed)
        let normal = FramePool(plan.phases[0].packets, source: MACAddress(0x02_00_00_00_00_01), destination: MACAddress(0x02_00_00_00_00_02))
        #expect(normal.count > 4000)
        for i in 0..<normal.count {
            let f = try normal.frame(i).withUnsafeBytes { try PacketParser.features($0) }
            #expect(table.matchingRule(for: f) == nil, "a rule matches normal traffic: \(f)")
        }
        if kind == .payloadMarker {
            #expect(installed.contains { $0.predicates.contains { if case .bytes = $0 { true } else { false } } },
                     "a byte rule for the marker: \(installed.map(\.text))")
        }
        // Two separate promises: the rule is in the filter within a second of the flood's first
        // packet, and from then on it drops the flood. One blended share ("90 % of the flood")
        // failed on a loaded CI machine whose rule came 0.5 s in, with every packet after it dropped.
        let attackSent = report.phases[1].sent * 40 / 44   // the flood's share of that phase
        let floodStart = report.startedAtNs + UInt64(scenario.phases[0].duration * 1e9)
        let floodSeconds = scenario.phases[1].duration
        let installNs = try #require(box.firstInstallNs)
        let latency = (Double(installNs) - Double(floodStart)) / 1e9
        #expect(latency >= 0 && latency <= 1.0, "first rule \(latency) s after the flood began")
        // Frames a veth under load took and dropped never reached the filter: count only those that arrived.
        let arrived = report.delivered.map { Double($0) / Double(max(report.sent, 1)) } ?? 1
        let afterRule = Double(attackSent) * max(0, floodSeconds - latency) / floodSeconds * arrived
        let dropped = after.dropped - before.dropped
        #expect(dropped <= attackSent + attackSent / 100)
        #expect(Double(dropped) >= 0.97 * afterRule,
                "dropped \(dropped) of ~\(Int(afterRule)) flood packets that came after the rule (\(latency) s in, \(arrived) delivered)")
        print("sidecar: opened \(opened.count), rules \(installed.map(\.text)), first rule \(String(format: "%.3f", latency)) s in, "
              + "dropped \(dropped) of ~\(attackSent) flood packets (~\(Int(afterRule)) after the rule, \(String(format: "%.4f", arrived)) delivered)")
    }
}
