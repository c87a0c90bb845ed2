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
    /// operator bytes → the same specifications, matching what Holon's rules match; withdrawn
    /// ones leave the router; the speaker gone, the router holds nothing.
    @Test(.timeLimit(.minutes(2))) func roundTripThroughARouter() throws {
        let pair = try GoBGPPair()
        defer { pair.stop() }
        try #require(pair.established(), "the two gobgpd peered")
        let speaker = GoBGPClient(port: pair.speakerAPI), router = GoBGPClient(port: pair.routerAPI)

        var g = RandomRules(state: 16)
        let rules = (0..<100).map { g.rule(id: 1_000_000_000 + UInt32($0)) }
        var sent: [FlowspecRule] = []
        for r in rules {
            let fs = try #require(FlowspecTranslator().translate(r, baseline: []).rule)
            // Two random rules may match alike: a router holds one route per match, the last.
            sent.removeAll { $0.components == fs.components }
            sent.append(fs)
            try speaker.announce(fs)
        }
        let arrived = try waitFor { try router.rib(.ipv4).count == sent.count }
        #expect(arrived, "the router got \((try? router.rib(.ipv4).count) ?? -1) of \(sent.count)")
        let received = try router.rib(.ipv4)
        for fs in sent {
            let got = received.first { $0.components == fs.components }
            #expect(got != nil, "not received as sent: \(fs.gobgpMatch.joined(separator: " "))")
            #expect(got?.action == fs.action, "action of \(fs.gobgpMatch.joined(separator: " ")): \(String(describing: got?.action)) vs \(fs.action)")
        }
        // Parsed back, each received specification matches what its Holon rule matches.
        let packets = (0..<2000).map { _ in g.packet() }
        var checked = 0
        for (r, fs) in zip(rules, rules.map { FlowspecTranslator().translate($0, baseline: []).rule! }) {
            guard let got = received.first(where: { $0.components == fs.components }) else { continue }
            if got.action == fs.action { checked += 1 }
            for p in packets where got.matches(p) != r.matches(p) {
                Issue.record("\(r.text): the router's match differs on \(p.dstIP):\(p.dstPort)")
                break
            }
        }

        #expect(checked >= 90, "most rules are their own route: \(checked)")
        for fs in sent.prefix(40) { try speaker.withdraw(fs) }
        let withdrawn = try waitFor { try router.rib(.ipv4).count == sent.count - 40 }
        #expect(withdrawn, "withdrawn: \((try? router.rib(.ipv4).count) ?? -1) left")
        pair.stopSpeaker()
        let emptied = try waitFor { try router.rib(.ipv4).isEmpty }
        #expect(emptied, "the speaker gone, the router keeps \((try? router.rib(.ipv4).count) ?? -1)")
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
