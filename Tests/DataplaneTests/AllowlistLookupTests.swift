import Dataplane
import Foundation
import Packets
import Rules
import Testing

/// The program skips an allowlist trie while its config bit says the trie is empty (an LPM
/// lookup costs every packet 8 ns). The bit must follow the trie: set before a prefix arrives,
/// kept through rule installs that rewrite the config, cleared only once the trie is empty.
/// Root only (BPF_PROG_RUN on a private copy of the program).
@Suite(.serialized, .enabled(if: TestLab.isRoot, "needs root: BPF"))
struct AllowlistLookupTests {
    static func frame(v4 source: UInt32) -> [UInt8] {
        PacketBuilder.bytes(.udp4(source: source, destination: 0x0A4D_0002, sourcePort: 1234, destinationPort: 9, frameLength: 64))
    }

    @Test func theSkippedLookupNeverSkipsAPrefix() throws {
        let dp = try Dataplane.transient()
        let inside = Self.frame(v4: 0x0A09_0001), outside = Self.frame(v4: 0x0A08_0001)
        try dp.install([Rule(id: 1, action: .drop)])
        #expect(try dp.testRun(inside).action == .drop)

        try dp.allow([AllowPrefix("10.9.0.0/16")!])
        #expect(try dp.testRun(inside).action == .pass)
        #expect(try dp.testRun(outside).action == .drop)

        // Installs write the config (generation flips) from what they read before: the bit stays.
        try dp.add([Rule(id: 2, match: [.equals(.proto, 17)], action: .drop)])
        try dp.install([Rule(id: 3, action: .drop)], rebuild: true)
        try dp.setObserve(false)
        #expect(try dp.testRun(inside).action == .pass)

        // An IPv6 prefix leaves the IPv4 trie's bit alone; clearing empties both and clears both.
        try dp.allow([AllowPrefix("2001:db8::/32")!])
        #expect(try dp.testRun(inside).action == .pass)
        dp.clearAllowlist()
        #expect(try dp.testRun(inside).action == .drop)
        try dp.allow([AllowPrefix("10.9.0.1/32")!])
        #expect(try dp.testRun(inside).action == .pass)
    }

    /// What `holon rules export` puts before the rules: the allowlist as the tries hold it.
    @Test func theAllowlistReadsBack() throws {
        let dp = try Dataplane.transient()
        #expect(dp.allowlisted().isEmpty)
        let given = [AllowPrefix("10.9.0.0/16")!, AllowPrefix("192.0.2.53/32")!, AllowPrefix("2001:db8::/32")!, AllowPrefix("2001:db8:1::7/128")!]
        try dp.allow(given)
        #expect(Set(dp.allowlisted()) == Set(given))
        dp.clearAllowlist()
        #expect(dp.allowlisted().isEmpty)
    }

    /// The trie is looked up only for a packet that met a rule: an allowlisted source's packet
    /// that meets none passes as any packet of no rule does (not counted `allowlisted`), and
    /// one that meets a rule passes with the rule neither acting nor counting.
    @Test func anAllowlistedSourceIsLookedUpOnlyWhenARuleMatches() throws {
        let dp = try Dataplane.transient()
        let reader = try dp.sampleReader()
        try dp.setSampleEvery(1)
        try dp.install([
            Rule(id: 1, match: [.equals(.dstPort, 9)], action: .drop),
            Rule(id: 2, match: [.equals(.dstPort, 7)], action: .count),
        ])
        try dp.allow([AllowPrefix("10.9.0.0/16")!])
        let inside = Self.frame(v4: 0x0A09_0001)
        var noRule = PacketSpec.udp4(source: 0x0A09_0001, destination: 0x0A4D_0002, sourcePort: 1234, destinationPort: 53)
        let counted = PacketBuilder.bytes(PacketSpec.udp4(source: 0x0A09_0001, destination: 0x0A4D_0002, sourcePort: 1234, destinationPort: 7))
        noRule.payloadLength = 22
        let before = try dp.stats()
        #expect(try dp.testRun(inside).action == .pass)
        #expect(try dp.testRun(counted).action == .pass)
        #expect(try dp.testRun(PacketBuilder.bytes(noRule)).action == .pass)
        let after = try dp.stats()
        #expect(after.allowlisted - before.allowlisted == 2, "the two that met a rule")
        #expect(after.matched == before.matched, "no rule won")
        #expect(dp.counters(forRule: 1).hits == 0 && dp.counters(forRule: 2).hits == 0)
        #expect(try reader.drain().map(\.verdict) == [.allowlisted, .allowlisted, .pass])
    }
}
