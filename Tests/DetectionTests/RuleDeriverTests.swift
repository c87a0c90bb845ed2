@testable import Detection
import Holon
import Packets
import Rules
import Testing
import Traffic

/// Issue 12 §4: the deriver on its own — hand-made baselines and recent samples, so each rule
/// it writes is checked against what it was given, not through a whole scenario.
struct RuleDeriverTests {
    typealias Gen = SplitMix64

    static let victim: UInt32 = 0xC633_640A   // 198.51.100.10

    /// Web traffic to three servers: TCP to 443 and 80, from many clients.
    static func web(_ g: inout Gen) -> PacketFeatures {
        var f = PacketFeatures()
        f.ipVersion = 4
        f.proto = 6
        f.hasTransportHeader = true
        f.srcIP = .v4(0x0A00_0000 | UInt32(truncatingIfNeeded: g.next() % 60_000))
        f.dstIP = .v4(victim + UInt32(g.next() % 3))
        f.srcPort = UInt16(32_768 + g.next() % 28_000)
        f.dstPort = g.next() % 3 == 0 ? 80 : 443
        f.tcpFlags = g.next() % 10 == 0 ? 0x02 : 0x10
        f.ttl = 64
        f.tcpWindow = 64_240
        f.ipLen = UInt32(60 + g.next() % 1400)
        return f
    }

    /// A UDP flood at the victim's port 9999 from spoofed sources.
    static func flood(_ g: inout Gen) -> PacketFeatures {
        var f = PacketFeatures()
        f.ipVersion = 4
        f.proto = 17
        f.hasTransportHeader = true
        f.srcIP = .v4(UInt32(truncatingIfNeeded: g.next()))
        f.dstIP = .v4(victim)
        f.srcPort = UInt16(truncatingIfNeeded: g.next())
        f.dstPort = 9999
        f.ttl = UInt8(truncatingIfNeeded: g.next())
        f.ipLen = 540
        return f
    }

    func deriver(baseline packets: [PacketFeatures], spare: Double = 0.001,
                 presence: @escaping (Candidate) -> (recent: Double, baseline: Double)? = { _ in nil }) -> RuleDeriver {
        var b = Baseline(dimension: 64, reservoirCapacity: packets.count, seed: 1)
        let v = Hypervector(dimension: 64)
        for p in packets { b.learn(p, vector: v) }
        return RuleDeriver(baseline: b, spareShare: spare, baselinePps: 1000, presence: presence)
    }

    @Test func aFloodGetsARuleScopedToItsVictimThatSparesTheBaseline() throws {
        var g = Gen(seed: 1)
        let d = deriver(baseline: (0..<2000).map { _ in Self.web(&g) })
        let recent = (0..<400).map { i in i % 10 == 0 ? Self.web(&g) : Self.flood(&g) }
        let rule = try #require(d.derive(from: recent))
        let fields = Set(rule.predicates.map(\.field))
        #expect(fields.contains(.proto) && fields.contains(.dstIP), "\(rule.predicates)")
        #expect(rule.predicates.contains { $0.field == .dstIP && $0.kind == .equals(UInt64(Self.victim)) }, "scoped to the victim: \(rule.predicates)")
        #expect(rule.baselineShare == 0, "spares every baseline packet")
        #expect(abs(rule.recentShare - 0.9) < 0.001, "covers the flood, exactly its 90 %: \(rule.recentShare)")
        // Random per packet, so never a predicate: ttl and source addresses.
        #expect(!fields.contains(.ttl) && !fields.contains(.srcIP), "\(rule.predicates)")
        // Ordered as an operator reads it: protocol first.
        #expect(rule.predicates.first?.field == .proto)
    }

    /// Issue 17 (scope): the hosts under attack are busy with normal traffic too, so no
    /// destination is twice as common in the attack as in the baseline; the rule is still
    /// limited to them — here the /29 the flood spreads over, the smallest prefix covering it.
    @Test func aRuleIsScopedToBusyAttackedHosts() throws {
        var g = Gen(seed: 8)
        // Normal: web to eight hosts of the /29 (and three others), attack: UDP to 9999 on all eight.
        let base = (0..<2000).map { i -> PacketFeatures in
            var f = Self.web(&g)
            f.dstIP = .v4(i % 4 == 0 ? Self.victim + 100 + UInt32(i % 3) : 0xC633_6410 + UInt32(g.next() % 8))
            return f
        }
        let recent = (0..<400).map { _ -> PacketFeatures in
            var f = Self.flood(&g)
            f.dstIP = .v4(0xC633_6410 + UInt32(g.next() % 8))   // 198.51.100.16/29
            return f
        }
        let rule = try #require(deriver(baseline: base).derive(from: recent))
        #expect(rule.predicates.contains { $0.field == .dstIP && $0.kind == .prefix(network: 0xC633_6410, length: 29) }, "\(rule.predicates)")
    }

    /// The vectors decide: a candidate whose presence did not grow is not rule material.
    @Test func aCandidateTheVectorsDoNotConfirmIsLeftOut() throws {
        var g = Gen(seed: 2)
        let base = (0..<2000).map { _ in Self.web(&g) }
        let recent = (0..<400).map { _ in Self.flood(&g) }
        let vetoPort = deriver(baseline: base) { c in c.field == .dstPort ? (recent: 0.1, baseline: 0.2) : nil }
        let rule = try #require(vetoPort.derive(from: recent))
        #expect(!rule.predicates.contains { $0.field == .dstPort }, "\(rule.predicates)")
        let confirmed = deriver(baseline: base) { c in c.field == .dstPort ? (recent: 0.9, baseline: 0.0) : nil }
        let withPort = try #require(confirmed.derive(from: recent))
        // Confirmed, it is in play: its presence is reported whenever it is part of the rule.
        if withPort.predicates.contains(where: { $0.field == .dstPort }) {
            #expect(withPort.presence.keys.contains { $0.field == .dstPort })
        }
    }

    /// Traffic shaped like the baseline cannot be spared: the rule says so (its baseline share
    /// and rate), which turns its action into a rate limit instead of a drop.
    @Test func trafficLikeTheBaselineIsReportedNotHidden() throws {
        var g = Gen(seed: 3)
        let base = (0..<2000).map { _ in Self.web(&g) }
        let recent = (0..<400).map { _ -> PacketFeatures in var f = Self.web(&g); f.dstIP = .v4(Self.victim); f.dstPort = 443; f.tcpFlags = 0x02; return f }
        let rule = try #require(deriver(baseline: base).derive(from: recent))
        #expect(rule.baselineShare > 0, "\(rule.predicates) claims to spare a baseline it matches")
        #expect(abs(rule.baselinePps - rule.baselineShare * 1000) < 1e-9)
    }

    @Test func tooFewSamplesOrNoBaselineDeriveNothing() {
        var g = Gen(seed: 4)
        #expect(deriver(baseline: (0..<100).map { _ in Self.web(&g) }).derive(from: (0..<15).map { _ in Self.flood(&g) }) == nil)
        #expect(deriver(baseline: []).derive(from: (0..<400).map { _ in Self.flood(&g) }) == nil)
    }
}
