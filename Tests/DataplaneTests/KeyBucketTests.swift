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
