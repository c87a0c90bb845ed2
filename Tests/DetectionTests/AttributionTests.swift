@testable import Detection
import Foundation
import Holon
import Packets
import Rules
import Testing
import Traffic

/// Issue 12 §4: attribution on its own — accumulators built by hand from a few hundred packets,
/// and the presence of each `field=value` checked against what was put in.
///
/// The expected numbers come from how a packet is encoded, not from running the code: a packet
/// is the ternary majority of its `k` role–filler pairs (dense ±1 lanes, 0 on ties), so in one
/// lane a pair agrees with the bundle unless the other `k − 1` pairs outvote it. Its expected
/// agreement, the presence of a pair in every packet, is
/// `a(k) = C(k−1, ⌊(k−1)/2⌋) / 2^(k−1)` (0.375 for k = 5, 0.246 for k = 11), and a value carried by
/// a share `s` of the packets has presence `s · a(k)`. A pair a packet does not carry meets its
/// lanes at random: each presence is off its expectation by at most about `1/√d` (one standard
/// deviation), so single presences are held to `3/√d` and differences of two to `3·√2/√d`.
struct AttributionTests {
    typealias Gen = SplitMix64

    /// Large enough that the tolerances (0.023 and 0.033) sit well below the smallest presence
    /// an injected share is expected to add (0.2 · a(11) = 0.049).
    static let dimension = 16_384
    static let tolerance = 3 / Double(dimension).squareRoot()
    static let differenceTolerance = 3 * 2.0.squareRoot() / Double(dimension).squareRoot()

    /// Expected agreement of one of `k` bundled pairs with their bundle (see above).
    static func agreement(_ k: Int) -> Double {
        let n = k - 1, r = n / 2
        var c = 1.0
        for i in 0..<r { c = c * Double(n - i) / Double(i + 1) }
        return c / pow(2, Double(n))
    }

    /// Web traffic to three servers: TCP to 443 and 80, ACKs and a few SYNs, from 10.0.0.0/8.
    /// Every packet has the same eleven encoded fields, so every one bundles k = 11 pairs.
    static func web(_ g: inout Gen) -> PacketFeatures {
        var f = PacketFeatures()
        f.ipVersion = 4
        f.proto = 6
        f.hasTransportHeader = true
        f.srcIP = .v4(0x0A00_0000 | UInt32(truncatingIfNeeded: g.next() % 60_000))
        f.dstIP = .v4(0xC633_640A + UInt32(g.next() % 3))
        f.srcPort = UInt16(32_768 + g.next() % 28_000)
        f.dstPort = g.next() % 3 == 0 ? 80 : 443
        f.tcpFlags = g.next() % 10 == 0 ? 0x02 : 0x10
        f.ttl = 64
        f.tcpWindow = 64_240
        f.ipLen = UInt32(60 + g.next() % 1400)
        return f
    }
    static let webFields = 11

    /// Pairs ``DetectorRecord`` bundles for a packet, counted by walking it.
    struct PairCount: WalkVisitor {
        var n = 0
        mutating func visit(_ f: FieldName, _ v: Int) { n += 1 }
        mutating func visit(_ f: FieldName, _ v: String) { n += 1 }
        mutating func visit(_ f: FieldName, _ v: Bool) { n += 1 }
        mutating func visit(_ f: FieldName, _ v: Double) { n += 1 }
        mutating func visit(_ f: FieldName, scalar v: Double, _ e: ScalarEncoding) { n += 1 }
        mutating func visit<W: Walkable>(_ f: FieldName, record: W) { n += 1 }
        mutating func visitList<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) { n += 1 }
        mutating func visitSet<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) { n += 1 }
        mutating func visitList(_ f: FieldName, scalars items: some Collection<ScalarValue>) { n += 1 }
        mutating func visitSet(_ f: FieldName, scalars items: some Collection<ScalarValue>) { n += 1 }
    }

    static func pairs(_ f: PacketFeatures) -> Int {
        var c = PairCount()
        DetectorRecord(f).walk(into: &c)
        return c.n
    }

    let space = VectorSpace(dimension: AttributionTests.dimension, seed: 42)

    func accumulate(_ packets: [PacketFeatures]) -> Accumulator {
        var encoder = VectorEncoder(space: space)
        var acc = Accumulator(dimension: space.dimension)
        for f in packets { acc.add(encoder.encode(DetectorRecord(f))) }
        return acc
    }

    func attribution(recent: [PacketFeatures], baseline: [PacketFeatures]) -> Attribution {
        Attribution(space: space, recent: accumulate(recent), baseline: accumulate(baseline))
    }

    static func share(_ packets: [PacketFeatures], _ c: Candidate) -> Double {
        Double(packets.filter(c.matches).count) / Double(packets.count)
    }

    /// Every value the packets carry that the detector encodes, as the deriver proposes them.
    static func candidates(_ packets: [PacketFeatures]) -> [Candidate] {
        let b = Baseline(dimension: 8, reservoirCapacity: 1, seed: 1)
        let d = RuleDeriver(baseline: b, spareShare: 0, baselinePps: 0, presence: { _ in nil })
        // Any share: the deriver's 10 % floor is its own choice, not attribution's.
        var seen = Set<Candidate>()
        for f in packets { for c in d.candidates(in: [f]) { seen.insert(c) } }
        return Array(seen)
    }

    static func ttl(_ v: UInt64) -> Candidate { Candidate(field: .ttl, kind: .equals(v)) }

    /// Baseline: 600 web packets (TTL 64). Recent: 400, of which 30 % are the same web traffic
    /// sent with TTL 200 — one field changed, nothing else.
    func oneChangedField() -> (baseline: [PacketFeatures], recent: [PacketFeatures]) {
        var g = Gen(seed: 11)
        let baseline = (0..<600).map { _ in Self.web(&g) }
        let recent = (0..<400).map { i -> PacketFeatures in
            var f = Self.web(&g)
            if i % 10 < 3 { f.ttl = 200 }
            return f
        }
        return (baseline, recent)
    }

    @Test func theEncodingIsTheOneTheExpectationsAssume() {
        var g = Gen(seed: 10)
        #expect((0..<50).allSatisfy { _ in Self.pairs(Self.web(&g)) == Self.webFields })
        #expect(abs(Self.agreement(5) - 0.375) < 1e-12 && abs(Self.agreement(11) - 252.0 / 1024) < 1e-12)
    }

    @Test func anAddedValueRisesFromNothingToItsShare() throws {
        let (baseline, recent) = oneChangedField()
        let a = attribution(recent: recent, baseline: baseline)
        let k = Self.agreement(Self.webFields)
        let added = try #require(a.presence(Self.ttl(200)))
        #expect(abs(added.baseline) <= Self.tolerance, "absent from the baseline: \(added.baseline)")
        #expect(abs(added.recent - 0.3 * k) <= Self.tolerance, "30 % of recent: \(added.recent) vs \(0.3 * k)")
        #expect(Attribution.gained(added))
        // The value it replaced loses the same share.
        let replaced = try #require(a.presence(Self.ttl(64)))
        #expect(abs(replaced.baseline - k) <= Self.tolerance, "\(replaced.baseline) vs \(k)")
        #expect(abs(replaced.recent - 0.7 * k) <= Self.tolerance, "\(replaced.recent) vs \(0.7 * k)")
        #expect(!Attribution.gained(replaced))
    }

    /// A presence, when attribution gives one, is the candidate's own: the share of packets the
    /// candidate matches. The record encodes fragments as one value per packet (0 whole, 1 first,
    /// 2 later), so `mf = 1` (first and middle fragments) and `mf = 0` (whole packets and last
    /// fragments) have no pair of their own; reading `mf = 1` as "first fragment" measured a flood
    /// of middle fragments, every one with MF set, as absent, and the vectors vetoed the candidate.
    @Test func aPresenceIsTheCandidatesOwnShare() throws {
        var g = Gen(seed: 13)
        let baseline = (0..<600).map { _ in Self.web(&g) }
        let recent = (0..<600).map { i -> PacketFeatures in
            guard i % 2 == 0 else { return Self.web(&g) }
            var f = PacketFeatures()
            f.ipVersion = 4
            f.proto = 17
            f.srcIP = .v4(0x2D53_0000 | UInt32(truncatingIfNeeded: g.next() % 60_000))
            f.dstIP = .v4(0xC633_640A)
            f.ttl = 250
            f.ipLen = 1500
            switch i % 6 {
            case 0: f.hasTransportHeader = true; f.mf = true; f.srcPort = 4444; f.dstPort = 53   // first
            case 2: f.fragOffset = 185; f.mf = true                                                // middle
            default: f.fragOffset = 370                                                            // last
            }
            return f
        }
        let a = attribution(recent: recent, baseline: baseline)
        let fragmentCandidates = [Candidate(field: .mf, kind: .equals(1)), Candidate(field: .mf, kind: .equals(0)),
                                  Candidate(field: .fragOffset, kind: .range(1, 0x1FFF))]
        var judged = 0
        for c in Self.candidates(recent) + fragmentCandidates {
            guard let p = a.presence(c) else { continue }
            judged += 1
            let matching = recent.filter(c.matches)
            let expected = matching.map { Self.agreement(Self.pairs($0)) }.reduce(0, +) / Double(recent.count)
            #expect(abs(p.recent - expected) <= Self.tolerance,
                    "\(c): presence \(p.recent), but \(matching.count) of \(recent.count) packets carry it (expected \(expected))")
        }
        #expect(judged > 10)
    }

    @Test func unchangedFieldsStayWithinNoise() throws {
        let (baseline, recent) = oneChangedField()
        let a = attribution(recent: recent, baseline: baseline)
        let k = Self.agreement(Self.webFields)
        var checked = 0
        for c in Self.candidates(baseline + recent) where c.field != .ttl {
            guard let p = a.presence(c) else { continue }
            checked += 1
            // Each window's own share of the value (the two draws differ a little by chance).
            let sb = Self.share(baseline, c), sr = Self.share(recent, c)
            #expect(abs(p.baseline - sb * k) <= Self.tolerance, "\(c) baseline \(p.baseline) vs \(sb * k)")
            #expect(abs(p.recent - sr * k) <= Self.tolerance, "\(c) recent \(p.recent) vs \(sr * k)")
            #expect(abs((p.recent - p.baseline) - (sr - sb) * k) <= Self.differenceTolerance, "\(c) gained \(p.recent - p.baseline)")
        }
        // proto, the three servers, both ports, both flags, the window, 10/8, the size classes.
        #expect(checked >= 10)
    }

    @Test func gainsAreOrderedByTheShareInjected() throws {
        // Half the recent traffic is web sent with TTL 200, a fifth goes to port 22 instead.
        var g = Gen(seed: 12)
        let baseline = (0..<600).map { _ in Self.web(&g) }
        let recent = (0..<400).map { i -> PacketFeatures in
            var f = Self.web(&g)
            if i % 10 < 5 { f.ttl = 200 } else if i % 10 < 7 { f.dstPort = 22 }
            return f
        }
        let a = attribution(recent: recent, baseline: baseline)
        let k = Self.agreement(Self.webFields)
        let ssh = Candidate(field: .dstPort, kind: .equals(22))
        let gains = Self.candidates(baseline + recent).compactMap { c in a.presence(c).map { (c, $0.recent - $0.baseline) } }
            .sorted { $0.1 > $1.1 }
        let ttlGain = try #require(gains.first { $0.0 == Self.ttl(200) }).1
        let sshGain = try #require(gains.first { $0.0 == ssh }).1
        #expect(abs(ttlGain - 0.5 * k) <= Self.differenceTolerance, "\(ttlGain) vs \(0.5 * k)")
        #expect(abs(sshGain - 0.2 * k) <= Self.differenceTolerance, "\(sshGain) vs \(0.2 * k)")
        #expect(gains.prefix(2).map(\.0) == [Self.ttl(200), ssh], "\(gains.prefix(4))")
    }

    @Test func anIdenticalWindowAttributesNothing() {
        var g = Gen(seed: 13)
        let packets = (0..<400).map { _ in Self.web(&g) }
        let a = attribution(recent: packets, baseline: packets)
        let gained = Self.candidates(packets).filter { c in a.presence(c).map(Attribution.gained) ?? false }
        #expect(gained.isEmpty, "\(gained)")
    }

    @Test func anEmptyWindowAttributesNothing() {
        var g = Gen(seed: 14)
        let packets = (0..<400).map { _ in Self.web(&g) }
        let a = Attribution(space: space, recent: Accumulator(dimension: space.dimension), baseline: accumulate(packets))
        var checked = 0
        // Values the baseline carries in at least a fifth of its packets: expected presence
        // ≥ 0.2 · a(11) = 0.049, more than twice the tolerance above zero. (A rarer value's
        // presence is within noise of zero, either side; the deriver never proposes one, as
        // its candidates are what the recent samples carry.)
        for c in Self.candidates(packets) where Self.share(packets, c) >= 0.2 {
            guard let p = a.presence(c) else { continue }
            checked += 1
            #expect(p.recent == 0 && !Attribution.gained(p), "\(c): \(p)")
        }
        #expect(checked >= 8)
    }

    /// The candidate → pair mapping agrees with the encoding: every value a packet carries that
    /// the detector encodes is one of the packet's bundled pairs (presence a(k) in a window of
    /// that packet alone), and a port outside the well-known band is not encoded (it is its band).
    @Test func everyEncodedValueOfAPacketIsInItsVector() throws {
        func packet(_ edit: (inout PacketFeatures) -> Void) -> PacketFeatures {
            var f = PacketFeatures()
            f.ipVersion = 4
            f.srcIP = .v4(0xCB00_7105)
            f.dstIP = .v4(0xC633_640A)
            f.ttl = 57
            f.ipLen = 540
            f.hasTransportHeader = true
            edit(&f)
            return f
        }
        let packets = [
            packet { $0.proto = 6; $0.srcPort = 40_000; $0.dstPort = 443; $0.tcpFlags = 0x02; $0.tcpWindow = 1024; $0.df = true },
            packet { $0.proto = 17; $0.srcPort = 53; $0.dstPort = 40_000 },
            packet { $0.proto = 17; $0.srcPort = 53; $0.dstPort = 40_000; $0.mf = true; $0.ipLen = 1500 },
            packet { $0.proto = 1; $0.icmpType = 8; $0.icmpCode = 0; $0.ipLen = 84 },
            packet { $0.proto = 17; $0.fragOffset = 185; $0.mf = true; $0.hasTransportHeader = false; $0.ipLen = 1500 },
            packet { $0.ipVersion = 6; $0.proto = 17; $0.srcIP = .v6(high: 0x2001_0DB8_0000_0001, low: 1); $0.dstIP = .v6(high: 0x2001_0DB8_0000_0002, low: 9); $0.srcPort = 123; $0.dstPort = 50_000 },
        ]
        var encoded = 0
        for f in packets {
            let a = Attribution(space: space, recent: accumulate([f]), baseline: accumulate([]))
            let expected = Self.agreement(Self.pairs(f))
            for c in Self.candidates([f]) {
                guard let p = a.presence(c) else {
                    let portBand = (c.field == .srcPort || c.field == .dstPort)
                        && c.kind != .equals(53) && c.kind != .equals(123) && c.kind != .equals(443)
                    // MF has no pair of its own (aPresenceIsTheCandidatesOwnShare).
                    let notEncoded: Set<RuleField> = [.dscp, .mf]
                    // Of the address prefixes only a source's /8 is encoded; the others are
                    // checked on the sample ring, not the vectors.
                    var prefix = false
                    if case .prefix(_, let len) = c.kind { prefix = !(c.field == .srcIP && len == 8) }
                    #expect(portBand || notEncoded.contains(c.field) || prefix, "\(c) of \(f) is not encoded")
                    continue
                }
                encoded += 1
                #expect(abs(p.recent - expected) <= Self.tolerance, "\(c): \(p.recent) vs \(expected)")
            }
            // And a value the packet does not carry is not in it.
            let other = try #require(a.presence(Self.ttl(201)))
            #expect(abs(other.recent) <= Self.tolerance)
        }
        #expect(encoded >= 30)
    }
}
