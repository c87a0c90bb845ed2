import Flowspec
import Foundation
import Packets
import Rules
import TestSupport
import Testing

/// Issue 16: rules through a real speaker to a real router — two `gobgpd` on loopback.
@Suite("Flowspec through gobgpd", .offPool, .serialized, .enabled(if: GoBGPPair.available))
struct GoBGPPeeringTests {
    func waitFor(_ what: () throws -> Bool, seconds: Double = 15) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try what() { return true }
            usleep(100_000)
        }
        return false
    }

    /// 100 rules → Flowspec → announced → received by the router → read back from its RIB as
    /// operator bytes → the same specifications, matching what Holon's rules match (the widened
    /// rule where a field was dropped); the refused and widened ones listed with their reasons;
    /// withdrawn ones leave the router; the speaker gone, the router holds nothing.
    @Test(.timeLimit(.minutes(2))) func roundTripThroughARouter() throws {
        let pair = try GoBGPPair()
        defer { pair.stop() }
        try #require(pair.established(), "the two gobgpd peered")
        let speaker = GoBGPClient(port: pair.speakerAPI), router = GoBGPClient(port: pair.routerAPI)

        var g = RandomRules(state: 16)
        let baseline = (0..<300).map { _ in g.packet() }
        let rules = (0..<100).map { g.rule(id: 1_000_000_000 + UInt32($0), details: true) }
        var sent: [(holon: Rule, fs: FlowspecRule)] = []
        var widened: [(Rule, [String])] = [], refused: [(Rule, String)] = []
        for r in rules {
            let fs: FlowspecRule, holon: Rule
            switch FlowspecTranslator().translate(r, baseline: baseline) {
            case .exact(let x): (fs, holon) = (x, r)
            case .widened(let x, let dropped, let wider): (fs, holon) = (x, wider); widened.append((r, dropped))
            case .refused(let why): refused.append((r, why)); continue
            }
            // Two random rules may match alike: a router holds one route per match, the last.
            sent.removeAll { $0.fs.components == fs.components }
            sent.append((holon, fs))
            try speaker.announce(fs)
        }
        for (r, why) in refused { print("refused \(r.id): \(why)") }
        for (r, dropped) in widened { print("widened \(r.id): dropped \(dropped.joined(separator: " "))") }
        #expect(!refused.isEmpty && !widened.isEmpty, "the mix exercises both: \(refused.count) refused, \(widened.count) widened")
        #expect(refused.allSatisfy { $0.1.contains("cannot carry") && $0.1.contains("baseline") })
        #expect(widened.allSatisfy { w in w.1.allSatisfy { $0.contains("ttl") || $0.contains("tcp_window") } })
        let arrived = try waitFor { try router.rib(.ipv4).count == sent.count }
        #expect(arrived, "the router got \((try? router.rib(.ipv4).count) ?? -1) of \(sent.count)")
        let received = try router.rib(.ipv4)
        let packets = (0..<2000).map { _ in g.packet() }
        for (holon, fs) in sent {
            guard let got = received.first(where: { $0.components == fs.components }) else {
                Issue.record("not received as sent: \(fs.gobgpMatch.joined(separator: " "))")
                continue
            }
            #expect(got.action == fs.action, "action of \(fs.gobgpMatch.joined(separator: " "))")
            // Parsed back, it matches what the Holon rule (as announced) matches.
            for p in packets where got.matches(p) != holon.matches(p) {
                Issue.record("\(holon.text): the router's match differs on \(p.dstIP):\(p.dstPort)")
                break
            }
        }

        for (_, fs) in sent.prefix(40) { try speaker.withdraw(fs) }
        let withdrawn = try waitFor { try router.rib(.ipv4).count == sent.count - 40 }
        #expect(withdrawn, "withdrawn: \((try? router.rib(.ipv4).count) ?? -1) left")
        pair.stopSpeaker()
        let emptied = try waitFor { try router.rib(.ipv4).isEmpty }
        #expect(emptied, "the speaker gone, the router keeps \((try? router.rib(.ipv4).count) ?? -1)")
    }

    /// gobgpd forgot a route Holon gave it (restarted, or deleted by hand): the announcer's
    /// check finds it missing from the speaker's RIB and announces it again; the router has it
    /// back.
    @Test(.timeLimit(.minutes(1))) func aRouteTheSpeakerForgotIsAnnouncedAgain() throws {
        let pair = try GoBGPPair()
        defer { pair.stop() }
        try #require(pair.established())
        let speaker = GoBGPClient(port: pair.speakerAPI), router = GoBGPClient(port: pair.routerAPI)
        let a = FlowspecAnnouncer(speaker: speaker, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]))
        let rule = Rule(id: 1_000_000_001, match: [.prefix(.dstIP, .v4(0xC633_640A), length: 32), .equals(.proto, 17), .equals(.dstPort, 53)], action: .drop)
        a.announce([rule], baseline: [])
        a.flush()
        #expect(try waitFor { try router.rib(.ipv4).count == 1 })
        let fs = try #require(FlowspecTranslator().translate(rule, baseline: []).rule)
        try speaker.withdraw(fs)   // behind the announcer's back
        #expect(try waitFor { try router.rib(.ipv4).isEmpty })
        a.reconcile()
        a.flush()
        #expect(try waitFor { try router.rib(.ipv4).first?.components == fs.components }, "the router got it back")
        a.withdrawAll()
        #expect(try waitFor { try router.rib(.ipv4).isEmpty })
    }

    @Test(.timeLimit(.minutes(1))) func ipv6() throws {
        let pair = try GoBGPPair()
        defer { pair.stop() }
        try #require(pair.established())
        let rule = Rule(match: [.prefix(.dstIP, IPAddress("2001:db8::10")!, length: 128), .equals(.proto, 17), .equals(.dstPort, 53)],
                        action: .rateLimit(pps: 1000, burst: nil))
        let fs = try #require(FlowspecTranslator().translate(rule, baseline: []).rule)
        #expect(fs.family == .ipv6)
        try GoBGPClient(port: pair.speakerAPI).announce(fs)
        let router = GoBGPClient(port: pair.routerAPI)
        #expect(try waitFor { try router.rib(.ipv6).count == 1 })
        #expect(try router.rib(.ipv6).first?.components == fs.components)
    }
}
