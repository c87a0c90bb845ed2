@testable import Dataplane
import Packets
import Rules
import Testing

/// The program classifies the first shapes inline and the rest through a bpf_loop callback
/// (HOLON_INLINE_SHAPES): a rule in any of them is reached, whether the packet walked the
/// shapes before it inline, through the loop, or both; a packet of none passes them all.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF"))
struct ShapeWalkKernelTests {
    /// Rule k keys the source port under a mask of its own, k + 1 (a shape of its own: prefix
    /// lengths would fold into a few shapes), and port 1000 + k; the earlier k, the higher its
    /// priority, so shapes are walked in k's order.
    static func rule(_ k: Int) -> Rule {
        Rule(id: UInt32(k + 1), match: [.equals(.proto, 17), .mask(.srcPort, mask: UInt64(k + 1), value: 40000 & UInt64(k + 1)),
                                        .equals(.dstPort, UInt64(1000 + k))], action: .drop, priority: Int32(100 - k))
    }

    static func frame(port: UInt16) -> [UInt8] {
        PacketBuilder.bytes(.udp4(source: 0xC633_6407, destination: 0x0A4D_0002, sourcePort: 40000, destinationPort: port))
    }

    @Test func everyShapeIsReachedInlineOrThroughTheLoop() throws {
        let dp = try Dataplane.transient()
        let n = 12
        try dp.install((0..<n).map(Self.rule))
        #expect(try RuleCompiler.compile((0..<n).map(Self.rule), bootOffsetNs: 0).shapes.count == n)
        for k in 0..<n {
            #expect(try dp.testRun(Self.frame(port: UInt16(1000 + k))).action == .drop, "shape \(k)")
            #expect(dp.counters(forRule: UInt32(k + 1)).hits == 1, "shape \(k)'s rule, and only once")
        }
        #expect(try dp.testRun(Self.frame(port: 999)).action == .pass, "no rule's port: every shape walked, none matched")
    }
}
