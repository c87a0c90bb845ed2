import Dataplane
import Foundation
import Packets
import Rules
import TestSupport
import Testing

/// Issue 10 §2: a rule's TTL is a hard limit in the kernel, not only in `holon run` — with no
/// sidecar left to remove it (killed, never started), an expired rule stops matching.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: namespaces, veth, XDP"))
struct KernelTTLTests {
    let frame = PacketBuilder.bytes(.udp4(source: 1, destination: 2, sourcePort: 3, destinationPort: 9, frameLength: 80))

    @Test func anExpiredRuleNoLongerDrops() throws {
        let t = try TestLab("ttl")
        defer { t.close() }
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        let live = Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop, priority: 10,
                        ttlSeconds: 60, createdAt: now)
        try t.dataplane.install([live])
        #expect(try t.dataplane.testRun(frame).action == .drop)

        var old = live
        old.createdAt = now - 2_000_000_000
        old.ttlSeconds = 1
        try t.dataplane.install([old])
        #expect(try t.dataplane.testRun(frame).action == .pass, "expired a second ago: in the table, matching nothing")
        #expect(try t.dataplane.verifiedRules().map(\.id) == [1], "still listed until someone removes it")

        // Expiring while installed: 1 s after installation.
        var soon = live
        soon.createdAt = nil   // TTL from installation
        soon.ttlSeconds = 1
        try t.dataplane.install([soon])
        #expect(try t.dataplane.verifiedRules().first?.createdAt != nil, "the installation time is stamped and kept")
        #expect(try t.dataplane.testRun(frame).action == .drop)
        usleep(1_200_000)
        #expect(try t.dataplane.testRun(frame).action == .pass)
    }
}
