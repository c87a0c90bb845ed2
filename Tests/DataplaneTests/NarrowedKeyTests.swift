import CHolonXDP
@testable import Dataplane
import Packets
import Rules
import Testing

/// Rules of more fields than a bucket's key holds are keyed on their three most telling fields
/// and check the rest (no root: compiling needs no kernel). Root suites hold the program to the
/// same answers: ReferenceCrossCheckTests and TableEditTests draw such rules at random, and
/// `NarrowedKeyKernelTests` below runs the cases here through the program.
@Suite struct NarrowedKeyTests {
    static let victim = IPAddress.v6(high: 0x2001_0DB8_0000_0000, low: 0x10)

    /// What the detector writes against an IPv6 reflection: proto, source port and the victim's
    /// /128, four key values (both halves of the address).
    static func reflection(_ id: UInt32, proto: UInt64 = 17, port: UInt64 = 123, victim: IPAddress = victim) -> Rule {
        Rule(id: id, match: [.equals(.proto, proto), .equals(.srcPort, port), .prefix(.dstIP, victim, length: 128)], action: .drop)
    }

    @Test func anIPv6VictimsRuleIsBucketedWithItsProtocolChecked() throws {
        let t = try RuleCompiler.compile([Self.reflection(1)], bootOffsetNs: 0)
        let sig = try #require(t.shapeSigs.first)
        #expect(sig.count == 3 && sig.keyClass == HOLON_KEYS_BUCKETED)
        let keyed = (0..<sig.count).map { UInt32(sig.fields[$0]) }
        #expect(keyed == [UInt32(RuleCompiler.fieldSlot(.srcPort)), HOLON_F_DST_V6_HI.rawValue, HOLON_F_DST_V6_LO.rawValue])
        #expect(t.checks.count == 1 && UInt32(t.checks[0].field) == RuleCompiler.fieldSlot(.proto).asUInt32)
        #expect(t.checks[0].kind == UInt8(HOLON_C_MASK.rawValue) && t.checks[0].b == 17)
        #expect(t.rules[0].nchecks == 1)
        #expect(t.narrowed.map { t.ordered[$0].id } == [1])
    }

    @Test func rulesOfThreeFieldsOrFewerAreKeyedAsTheyAre() throws {
        let t = try RuleCompiler.compile([
            Rule(id: 1, match: [.equals(.proto, 17), .equals(.srcPort, 123), .prefix(.dstIP, .v4(0xC633_640A), length: 32)], action: .drop),
        ], bootOffsetNs: 0)
        #expect(t.shapeSigs.map(\.count) == [3] && t.checks.isEmpty && t.narrowed.isEmpty)
    }

    /// A few rules behind one narrowed key chain, as ranges' rules do; past the limit the
    /// shape is keyed whole, so no packet walks a long chain for the narrowing.
    @Test func aCrowdedNarrowedKeyIsKeyedWhole() throws {
        let few = (0..<RuleCompiler.narrowedChainLimit).map { Self.reflection(UInt32(1 + $0), proto: UInt64([17, 6, 1, 58][$0 % 4]) ) }
        let t = try RuleCompiler.compile(few, bootOffsetNs: 0)
        #expect(t.shapeSigs.count == 1 && t.keys.count == 1, "one key, one chain of \(few.count)")
        #expect(t.narrowed.count == few.count)

        let many = (0..<RuleCompiler.narrowedChainLimit + 1).map { Self.reflection(UInt32(1 + $0), proto: UInt64(1 + $0)) }
        let w = try RuleCompiler.compile(many, bootOffsetNs: 0)
        #expect(w.shapeSigs.map(\.count) == [4] && w.shapeSigs[0].keyClass == HOLON_KEYS_WIDE)
        #expect(w.keys.count == many.count && w.checks.isEmpty && w.narrowed.isEmpty)

        // The limit is per key: another victim's rule has a chain of its own.
        let other = IPAddress.v6(high: 0x2001_0DB8_0000_0000, low: 0x20)
        let mixed = try RuleCompiler.compile(few + [Self.reflection(100, victim: other)], bootOffsetNs: 0)
        #expect(mixed.shapeSigs.map(\.count) == [3] && mixed.keys.count == 2)
    }

    /// Checks are bounded (HOLON_MAX_CHECKS): a rule whose narrowed form would need more (7
    /// ranges and 2 fields left out of the key) is keyed as it is, not refused.
    @Test func aRuleWhoseChecksWouldNotFitIsKeyedWhole() throws {
        let ranges: [Predicate] = [.range(.ttl, 1...9), .range(.tcpWindow, 1...9), .range(.payloadLen, 0...9),
                                   .range(.dstPort, 1...9), .range(.tcpUrgentPtr, 0...9), .range(.dscp, 0...1), .range(.ecn, 0...1)]
        let rule = Rule(id: 1, match: [.equals(.proto, 6), .equals(.srcPort, 1), .equals(.tcpFlags, 2), .prefix(.dstIP, Self.victim, length: 128)] + ranges,
                        action: .drop)
        let t = try RuleCompiler.compile([rule], bootOffsetNs: 0)
        #expect(t.shapeSigs.map(\.count) == [5] && t.narrowed.isEmpty && t.rules[0].nchecks == UInt8(ranges.count))
    }
}

private extension UInt8 {
    var asUInt32: UInt32 { UInt32(self) }
}

/// The same through the program: a narrowed rule matches what its whole predicates match and
/// nothing else, a crowded key is keyed whole by the edit that crowds it (a rebuild), and each
/// rule still meets its own packets.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF"))
struct NarrowedKeyKernelTests {
    static func frame(proto: UInt8, sourcePort: UInt16, to victim: IPAddress = NarrowedKeyTests.victim) -> [UInt8] {
        let transport: PacketSpec.Transport = proto == 6
            ? .tcp(source: sourcePort, destination: 40000, flags: [.ack])
            : .udp(source: sourcePort, destination: 40000)
        return PacketBuilder.bytes(PacketSpec(network: .v6(PacketSpec.IPv6(source: .v6(high: 0x2001_0DB8_0B00_0000, low: 7), destination: victim)),
                                              transport: transport, payloadLength: 18))
    }

    @Test func narrowedRulesMatchWhatTheirPredicatesMatch() throws {
        let dp = try Dataplane.transient()
        try dp.install([NarrowedKeyTests.reflection(1)])
        let g = Int(try dp.config().gen & 1)
        let image = try #require(dp.images[g])
        #expect(image.bucketedKeys == 1 && image.keyCounts == [0, 0], "in a bucket, not the map of wide keys")
        #expect(try dp.testRun(Self.frame(proto: 17, sourcePort: 123)).action == .drop)
        #expect(try dp.testRun(Self.frame(proto: 6, sourcePort: 123)).action == .pass, "the protocol left out of the key is checked")
        #expect(try dp.testRun(Self.frame(proto: 17, sourcePort: 53)).action == .pass)
        #expect(try dp.testRun(Self.frame(proto: 17, sourcePort: 123, to: .v6(high: 0x2001_0DB8_0000_0000, low: 0x11))).action == .pass)
        #expect(dp.counters(forRule: 1) == RuleCounters(hits: 1, drops: 1))
    }

    @Test func anEditThatCrowdsAKeyKeysItsShapeWhole() throws {
        let dp = try Dataplane.transient()
        let protos: [UInt64] = [17, 6, 33, 132, 136, 1, 58]   // UDP, TCP, DCCP, SCTP, UDP-Lite, ICMP, ICMPv6
        var rules: [Rule] = []
        for (i, p) in protos.enumerated() {
            let rule = NarrowedKeyTests.reflection(UInt32(1 + i), proto: p)
            if rules.isEmpty { try dp.install([rule]) } else { try dp.add([rule]) }
            rules.append(rule)
            let image = try #require(dp.images[Int(try dp.config().gen & 1)])
            if rules.count <= RuleCompiler.narrowedChainLimit {
                #expect(image.bucketedKeys == 1 && image.keyCounts == [0, 0], "\(rules.count) rules: one narrowed key")
            } else {
                #expect(image.bucketedKeys == 0 && image.keyCounts == [rules.count, 0], "\(rules.count) rules: keyed whole")
            }
            // Every rule so far meets its own UDP or TCP packets (the others carry no source port).
            #expect(try dp.testRun(Self.frame(proto: 17, sourcePort: 123)).action == .drop)
            if rules.count > 1 { #expect(try dp.testRun(Self.frame(proto: 6, sourcePort: 123)).action == .drop) }
        }
        #expect(dp.counters(forRule: 1).hits == UInt64(protos.count))
        #expect(dp.counters(forRule: 2).hits == UInt64(protos.count - 1))
        // The crowd gone but rule 1 still keyed whole, a rule of its shape added is keyed whole
        // too (the table keys that shape whole); all still meet their packets.
        _ = try dp.delete(ids: Set((2...UInt32(protos.count)).map { $0 }))
        try dp.add([NarrowedKeyTests.reflection(50, port: 53)])
        #expect(try dp.testRun(Self.frame(proto: 17, sourcePort: 53)).action == .drop)
        #expect(try dp.testRun(Self.frame(proto: 17, sourcePort: 123)).action == .drop)
        #expect(try dp.testRun(Self.frame(proto: 6, sourcePort: 53)).action == .pass)
    }
}
