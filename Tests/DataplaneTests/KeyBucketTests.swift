import CHolonXDP
import CLibBPF
@testable import Dataplane
import Packets
import Rules
import Testing

/// Key buckets hold up to HOLON_BUCKET_WAYS keys each; a full bucket's further keys go to the
/// map of short keys, and the program looks there only for a bucket that has spilled. Random
/// tables (the cross-checks) almost never fill a bucket, so these tables are made of keys that
/// all fall in one.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF_PROG_RUN"))
struct KeyBucketTests {
    static func rule(_ id: UInt32, _ source: UInt32) -> Rule {
        Rule(id: id, match: [.equals(.proto, 17), .prefix(.srcIP, .v4(source), length: 32), .equals(.dstPort, 9)], action: .drop, priority: 10)
    }

    static func bucket(_ r: Rule) throws -> UInt32 {
        let key = try #require(try RuleCompiler.lowerForTable(r, bootOffsetNs: 0).key)
        return holon_key_bucket.index(of: RuleCompiler.shortKey(RuleCompiler.keyStruct(key, shapeID: 0)))
    }

    /// `n` source addresses whose rules' keys share one bucket (the table's one shape has id 0).
    static func collidingSources(_ n: Int) throws -> [UInt32] {
        let first: UInt32 = 0x0B00_0000
        let target = try bucket(rule(1, first))
        var found = [first]
        var a = first
        while found.count < n {
            a += 1
            if try bucket(rule(1, a)) == target { found.append(a) }
        }
        return found
    }

    static func frame(_ source: UInt32) -> [UInt8] {
        PacketBuilder.bytes(.udp4(source: source, destination: 0x0A4D_0002, sourcePort: 1234, destinationPort: 9, frameLength: 64))
    }

    /// Each source's frame against the filter and the reference: dropped by its rule (counted
    /// on it) when the table has one, passed otherwise.
    static func expectAgreement(_ dp: Dataplane, _ sources: [UInt32], _ table: [Rule], _ when: String) throws {
        for s in sources {
            let want = table.first { $0.predicates.contains(.prefix(.srcIP, .v4(s), length: 32)) }
            let before = want.map { dp.counters(forRule: $0.id).hits }
            let action = try dp.testRun(frame(s)).action
            #expect(action == (want == nil ? .pass : .drop), "\(when): source \(s)")
            if let want { #expect(dp.counters(forRule: want.id).hits == before! + 1, "\(when): rule \(want.id) matched") }
        }
    }

    func activeImage(_ dp: Dataplane) throws -> TableImage {
        try dp.settle()
        return try #require(dp.images[Int(try dp.config().gen & 1)])
    }

    @Test func aFullBucketSpillsAndItsKeysStillMatch() throws {
        let sources = try Self.collidingSources(9)   // 8 with rules, 1 without
        let dp = try Dataplane.transient()
        var table = (0..<8).map { Self.rule(UInt32(10 + $0), sources[$0]) }
        try dp.install(table)
        var image = try activeImage(dp)
        #expect(image.bucketedKeys == 4 && image.keyCounts == [0, 4], "4 keys in the ways, 4 spilled")
        let b = try Self.bucket(table[0])
        #expect(try BucketPlan.read(image.bucketsFD, b).spilled == 4)
        try Self.expectAgreement(dp, sources, table, "installed")

        // A key in a way goes: its frame passes, a spilled key still matches.
        let inWay = try #require(table.first { r in
            let k = RuleCompiler.shortKey(RuleCompiler.keyStruct(try RuleCompiler.lowerForTable(r, bootOffsetNs: 0).key!, shapeID: 0))
            return try BucketPlan.read(image.bucketsFD, b).find(k) != nil
        })
        _ = try dp.delete(ids: [inWay.id])
        table.removeAll { $0.id == inWay.id }
        try Self.expectAgreement(dp, sources, table, "a bucketed key deleted")
        // The rule without a key so far takes the freed way; the spilled keys stay where they are.
        let newcomer = Self.rule(99, sources[8])
        try dp.add([newcomer])
        table.append(newcomer)
        image = try activeImage(dp)
        #expect(image.bucketedKeys == 4 && image.keyCounts == [0, 4])
        try Self.expectAgreement(dp, sources, table, "a key added to the freed way")

        // Every spilled key deleted: the bucket no longer sends packets to the map of short keys.
        let spilled = try table.filter { r in
            let k = RuleCompiler.shortKey(RuleCompiler.keyStruct(try RuleCompiler.lowerForTable(r, bootOffsetNs: 0).key!, shapeID: 0))
            return try BucketPlan.read(image.bucketsFD, b).find(k) == nil
        }
        #expect(spilled.count == 4)
        _ = try dp.delete(ids: Set(spilled.map(\.id)))
        table.removeAll { r in spilled.contains { $0.id == r.id } }
        image = try activeImage(dp)
        #expect(image.bucketedKeys == 4 && image.keyCounts == [0, 0])
        #expect(try BucketPlan.read(image.bucketsFD, b).spilled == 0)
        try Self.expectAgreement(dp, sources, table, "the spilled keys deleted")

        // Both generations agree: the one caught up is the other after the next change.
        try dp.add([Self.rule(100, sources[0])])
        table.append(Self.rule(100, sources[0]))
        try Self.expectAgreement(dp, sources, table, "after the other generation caught up")
    }
}

/// Where keys fall decides how many spill: the bucket function must spread the keys tables
/// are made of (consecutive addresses, a detector's rules for one source range) as evenly as
/// random ones. No root: the function is plain C.
@Suite struct KeyBucketSpreadTests {
    /// Keys placed as ``Dataplane/buildMaps(_:digest:)`` places them: the share that spills.
    static func spilledShare(_ keys: [holon_short_key]) -> Double {
        var load = [Int](repeating: 0, count: Int(HOLON_KEY_BUCKETS))
        var spilled = 0
        for k in keys {
            let b = Int(holon_key_bucket.index(of: k))
            if load[b] == holon_key_bucket.ways { spilled += 1 } else { load[b] += 1 }
        }
        return Double(spilled) / Double(keys.count)
    }

    /// 100,000 keys in 65,536 buckets of 4 spill ~1.7 % when spread at random (Poisson); a bad
    /// function leaves most buckets empty (a first one spilled 69 % of consecutive addresses).
    @Test func consecutiveAndRandomKeysSpillLittle() throws {
        let consecutive = try (0..<100_000).map { i -> holon_short_key in
            let rule = KeyBucketTests.rule(UInt32(i), 0x0B00_0000 &+ UInt32(i))
            let key = try #require(try RuleCompiler.lowerForTable(rule, bootOffsetNs: 0).key)
            return RuleCompiler.shortKey(RuleCompiler.keyStruct(key, shapeID: 0))
        }
        var rng = SystemRandomNumberGenerator()
        let random = (0..<100_000).map { _ in
            holon_short_key(shape: UInt32.random(in: 0..<64, using: &rng), pad: 0,
                            value: (UInt64.random(in: 0...255, using: &rng), UInt64.random(in: 0...UInt64(UInt32.max), using: &rng), 9))
        }
        let c = Self.spilledShare(consecutive), r = Self.spilledShare(random)
        #expect(c < 0.025, "consecutive addresses: \(c * 100) % spilled")
        #expect(r < 0.025, "random keys: \(r * 100) % spilled")
    }
}
