import Flowspec
import Packets
import Rules
import Testing

/// The model, the wire form and the translation from Holon's rules.
struct FlowspecModelTests {
    func prefix(_ s: String) -> IPPrefix { IPPrefix(s)! }

    /// RFC 8955 §4.2's own example: packets to 192.0.2.0/24, TCP, port 25.
    @Test func encodesTheRFCExample() throws {
        let r = FlowspecRule(family: .ipv4, components: [
            .prefix(.destination, prefix("192.0.2.0/24")),
            .numeric(.ipProtocol, [NumericOp(eq: true, value: 6)]),
            .numeric(.port, [NumericOp(eq: true, value: 25)]),
        ], action: .discard)
        #expect(try FlowspecNLRI.encode(r) == [0x0B, 0x01, 0x18, 0xC0, 0x00, 0x02, 0x03, 0x81, 0x06, 0x04, 0x81, 0x19])
    }

    @Test func operatorsCarryLengthAndEndBits() throws {
        let r = FlowspecRule(family: .ipv4, components: [
            .numeric(.sourcePort, [NumericOp(gt: true, eq: true, value: 1024), NumericOp(and: true, lt: true, eq: true, value: 65535)]),
        ], action: .discard)
        // >=1024 (two bytes, not last) then AND <=65535 (two bytes, last): GoBGP's own 19 and 213.
        #expect(try FlowspecNLRI.encode(r) == [0x07, 0x06, 0x13, 0x04, 0x00, 0xD5, 0xFF, 0xFF])
    }

    @Test func invalidSpecificationsAreRefused() {
        let ordered = [0x06, 0x03, 0x81, 0x06, 0x01, 0x18, 0xC0, 0x00, 0x02] as [UInt8]
        #expect(throws: FlowspecError.self) { try FlowspecNLRI.decode([UInt8(ordered.count)] + ordered, family: .ipv4) }
        let firstAnd = FlowspecRule(family: .ipv4, components: [.numeric(.dscp, [NumericOp(and: true, eq: true, value: 1)])], action: .discard)
        #expect(throws: FlowspecError.self) { try FlowspecNLRI.validate(firstAnd) }
        let tooBig = FlowspecRule(family: .ipv4, components: [.numeric(.dscp, [NumericOp(eq: true, value: 64)])], action: .discard)
        #expect(throws: FlowspecError.self) { try FlowspecNLRI.validate(tooBig) }
        let wrongFamily = FlowspecRule(family: .ipv4, components: [.prefix(.destination, prefix("2001:db8::/32"))], action: .discard)
        #expect(throws: FlowspecError.self) { try FlowspecNLRI.validate(wrongFamily) }
        #expect(throws: FlowspecError.self) { try FlowspecNLRI.decode([0x05, 0x01, 0x18, 0xC0, 0x00], family: .ipv4) }   // ends early
    }

    /// Every random rule over the fields Flowspec has comes out exact; its NLRI decodes to the
    /// same specification; and on random packets the router's match is Holon's match.
    @Test func randomRulesTranslateExactlyAndMatchAlike() throws {
        var g = RandomRules(state: 7)
        let packets = (0..<3000).map { _ in g.packet() }
        let t = FlowspecTranslator()
        var matched = 0
        for i in 0..<300 {
            let rule = g.rule(id: UInt32(i))
            guard case .exact(let fs) = t.translate(rule, baseline: []) else {
                Issue.record("rule \(rule.text) not exact: \(t.translate(rule, baseline: []))")
                continue
            }
            let back = try FlowspecNLRI.decode(try FlowspecNLRI.encode(fs), family: .ipv4)
            #expect(back.components == fs.components, "\(rule.text)")
            for p in packets {
                let holon = rule.matches(p), router = fs.matches(p)
                if holon != router { Issue.record("\(rule.text): Holon \(holon), Flowspec \(router) on \(p.proto) \(p.dstIP):\(p.dstPort) flags \(p.tcpFlags) len \(p.ipLen) frag \(p.fragOffset) df \(p.df)"); break }
                if holon { matched += 1 }
            }
        }
        #expect(matched > 5_000, "the random packets hit the random rules often enough to mean something: \(matched)")
    }

    @Test func actions() {
        let t = FlowspecTranslator(packetBytes: 1000)
        let dst = Predicate.prefix(.dstIP, .v4(0xC633_640A), length: 32)
        let limited = t.translate(Rule(match: [dst, .equals(.proto, 17)], action: .rateLimit(pps: 250, burst: nil)), baseline: [])
        #expect(limited.rule?.action == .trafficRate(bytesPerSecond: 250_000))
        #expect(t.translate(Rule(match: [dst, .equals(.proto, 17)], action: .drop), baseline: []).rule?.action == .discard)
        guard case .refused = t.translate(Rule(match: [dst], action: .pass), baseline: []) else { Issue.record("pass announced"); return }
        guard case .refused = t.translate(Rule(match: [dst], action: .count), baseline: []) else { Issue.record("count announced"); return }
    }

    /// Issue 17: a byte predicate is never announced, not even widened with an empty baseline
    /// (the wider rule would be all of the protocol to the host).
    @Test func bytePredicatesAreRefusedWithTheReason() {
        let t = FlowspecTranslator()
        let rule = Rule(match: [.equals(.proto, 17), .prefix(.dstIP, .v4(0xC633_640A), length: 32),
                                .bytes(PayloadMatch(offset: 0, value: [0x13, 0x37]))], action: .drop)
        guard case .refused(let why) = t.translate(rule, baseline: []) else { Issue.record("announced a byte rule"); return }
        #expect(why.contains("headers only") && why.contains("(bytes payload 0 \"1337\")"), "\(why)")
    }

    /// A field Flowspec lacks is dropped only while the wider rule spares the baseline.
    @Test func widenedOnlyWhenTheBaselineIsSpared() {
        let t = FlowspecTranslator()
        let rule = Rule(match: [.prefix(.dstIP, .v4(0xC633_640A), length: 32), .equals(.proto, 17), .equals(.ttl, 243)], action: .drop)
        var dns = PacketFeatures()
        dns.ipVersion = 4
        dns.proto = 17
        dns.dstIP = .v4(0xC633_640A)
        dns.ttl = 57
        dns.hasTransportHeader = true
        var tcp = dns
        tcp.proto = 6
        guard case .widened(let fs, let dropped, let wider) = t.translate(rule, baseline: [tcp]) else {
            Issue.record("not widened though no baseline packet is UDP to the victim"); return
        }
        #expect(dropped == ["(= ttl 243)"])
        #expect(wider.predicates.count == 2 && fs.components.count == 2)
        guard case .refused(let why) = t.translate(rule, baseline: [tcp, dns]) else {
            Issue.record("widened over a baseline packet it would drop"); return
        }
        #expect(why.contains("ttl") && why.contains("baseline"), "\(why)")
    }

    @Test func textForTheSpeakers() {
        let r = FlowspecRule(family: .ipv4, components: [
            .prefix(.destination, prefix("198.51.100.10/32")),
            .numeric(.ipProtocol, [NumericOp(eq: true, value: 6)]),
            .bitmask(.tcpFlags, [BitmaskOp(match: true, value: 0x02), BitmaskOp(and: true, not: true, value: 0xFD)]),
        ], action: .trafficRate(bytesPerSecond: 1_500_000))
        #expect(r.gobgpAnnounce == ["global", "rib", "-a", "ipv4-flowspec", "add", "match", "destination", "198.51.100.10/32",
                                    "protocol", "==6", "tcp-flags", "=S&!FRPAUEC", "then", "rate-limit", "1500000"])
        #expect(r.gobgpWithdraw.contains("del") && !r.gobgpWithdraw.contains("then"))
    }
}
