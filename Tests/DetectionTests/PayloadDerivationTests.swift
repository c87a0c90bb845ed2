@testable import Detection
import Holon
import Packets
import Rules
import Testing
import Traffic

/// Issue 17: the deriver's byte predicates, on hand-made payloads: a flood whose headers are all
/// random but whose payloads start with one marker, over legitimate UDP to the same host.
struct PayloadDerivationTests {
    typealias Gen = SplitMix64

    static let victim: UInt32 = 0xC633_640A   // 198.51.100.10
    static let marker: [UInt8] = [0x13, 0x37, 0xC0, 0xDE, 0x7A, 0x11, 0x0B, 0xAD, 0x5E, 0xED, 0xF0, 0x0D]

    static func udp(_ g: inout Gen, dst: UInt32, sport: UInt16, dport: UInt16, payload: [UInt8]) -> PacketFeatures {
        var f = PacketFeatures()
        f.ipVersion = 4
        f.proto = 17
        f.hasTransportHeader = true
        f.srcIP = .v4(UInt32(truncatingIfNeeded: g.next()))
        f.dstIP = .v4(dst)
        f.srcPort = sport
        f.dstPort = dport
        f.ttl = UInt8(truncatingIfNeeded: g.next())
        f.payloadLen = UInt32(payload.count)
        f.ipLen = 28 + f.payloadLen
        f.payload = PayloadHead(payload)
        return f
    }

    static func random(_ g: inout Gen, _ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) } }

    /// QUIC short headers, RTP, DNS answers: structured, never the marker.
    static func legit(_ g: inout Gen) -> PacketFeatures {
        switch g.next() % 3 {
        case 0: return udp(&g, dst: victim, sport: 51_000, dport: 443, payload: [0x40 | UInt8(g.next() % 64)] + random(&g, 200))
        case 1: return udp(&g, dst: victim, sport: 20_000, dport: 20_002, payload: [0x80, 0x00] + random(&g, 170))
        default: return udp(&g, dst: victim, sport: 53, dport: 40_000, payload: random(&g, 2) + [0x81, 0x80, 0x00, 0x01] + random(&g, 80))
        }
    }

    static func attack(_ g: inout Gen) -> PacketFeatures {
        udp(&g, dst: victim, sport: UInt16(truncatingIfNeeded: g.next()), dport: UInt16(truncatingIfNeeded: g.next()),
            payload: marker + random(&g, 28 + Int(g.next() % 1000)))
    }

    func deriver(_ baseline: [PacketFeatures]) -> RuleDeriver {
        var b = Baseline(dimension: 64, reservoirCapacity: baseline.count, seed: 1)
        let v = Hypervector(dimension: 64)
        for p in baseline { b.learn(p, vector: v) }
        var d = RuleDeriver(baseline: b, spareShare: 0.0005, baselinePps: 1000, presence: { _ in nil })
        d.payloadSeed = 7
        return d
    }

    @Test func aMarkerBecomesAByteRuleScopedToTheVictim() throws {
        var g = Gen(seed: 3)
        let base = (0..<4000).map { _ in Self.legit(&g) }
        let recent = (0..<600).map { i in i % 11 == 0 ? Self.legit(&g) : Self.attack(&g) }
        let rule = try #require(deriver(base).derive(from: recent))
        let preds = rule.predicates.map(\.predicate)
        #expect(preds.contains(.bytes(PayloadMatch(offset: 0, value: Self.marker))), "\(preds)")
        #expect(preds.contains(.equals(.dstIP, UInt64(Self.victim))), "\(preds)")
        #expect(rule.baselineShare == 0)
        // Every attack packet is covered, no legitimate one.
        let r = Rule(match: preds, action: .drop)
        let attacks = (0..<2000).filter { _ in r.matches(Self.attack(&g)) }.count
        let legit = (0..<2000).filter { _ in r.matches(Self.legit(&g)) }.count
        #expect(attacks == 2000 && legit == 0)
    }

    @Test func aMarkerNormalTrafficAlsoCarriesIsNoRule() throws {
        var g = Gen(seed: 4)
        // One baseline packet in 4000 carries the marker: the byte rule would hit it.
        var base = (0..<4000).map { _ in Self.legit(&g) }
        base[1234] = Self.attack(&g)
        let recent = (0..<600).map { _ in Self.attack(&g) }
        let rule = deriver(base).derive(from: recent)
        #expect(!(rule?.predicates ?? []).contains { if case .bytes = $0.kind { return true } else { return false } })
    }

    @Test func theVectorsMustAgree() throws {
        // Bytes constant in the attack but equally constant in normal traffic (an RTP-like 0x80
        // first byte) gain no presence: the run that gained it is what the rule names.
        var g = Gen(seed: 5)
        let base = (0..<4000).map { _ in Self.udp(&g, dst: Self.victim, sport: 20_000, dport: 20_002, payload: [0x80] + Self.random(&g, 100)) }
        let recent = (0..<600).map { _ in
            Self.udp(&g, dst: Self.victim, sport: 20_000, dport: 20_002, payload: [0x80, 0xAA, 0xBB, 0xCC, 0xDD] + Self.random(&g, 100))
        }
        let vectors = PayloadVectors(recent: recent, reservoir: base, seed: 7)
        let first = vectors.presence(offset: 0, byte: 0x80)
        let second = vectors.presence(offset: 1, byte: 0xAA)
        #expect(abs(first.recent - first.baseline) < 0.02, "\(first)")
        #expect(second.recent - second.baseline > 0.05 && second.baseline < 0.01, "\(second)")
        let rule = try #require(deriver(base).derive(from: recent))
        #expect(rule.predicates.map(\.predicate).contains(.bytes(PayloadMatch(offset: 1, value: [0xAA, 0xBB, 0xCC, 0xDD]))))
    }

    @Test func headersStillWinWhenTheyTellTheAttackApart() throws {
        var g = Gen(seed: 6)
        let base = (0..<4000).map { _ in Self.legit(&g) }
        // The marker flood, but all to port 9999, which normal traffic never uses.
        let recent = (0..<600).map { _ in
            Self.udp(&g, dst: Self.victim, sport: 1234, dport: 9999, payload: Self.marker + Self.random(&g, 40))
        }
        let rule = try #require(deriver(base).derive(from: recent))
        #expect(rule.baselineShare == 0 && rule.recentShare == 1)
        #expect(!rule.predicates.contains { if case .bytes = $0.kind { return true } else { return false } }, "\(rule.predicates)")
    }
}
