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
}
