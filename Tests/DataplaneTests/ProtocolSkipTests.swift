import CHolonXDP
@testable import Dataplane
import Packets
import Rules
import Testing

/// A shape records the protocols its rules take (`holon_shape.proto_skip`, the others), so the
/// program skips shapes of other protocols without building their keys: a real user's TCP
/// packet no longer pays for the UDP and ICMP shapes of an attack's other vectors.
struct ProtocolSkipTests {
    static func skip(_ t: CompiledTable, _ id: UInt32) -> UInt32 { t.shapes[Int(id)].proto_skip }

    @Test func aShapeSkipsTheProtocolsNoneOfItsRulesTakes() throws {
        let port = { (id: UInt32, proto: UInt64) in
            Rule(id: id, match: [.equals(.proto, proto), .equals(.dstPort, 80)], action: .drop, priority: Int32(100 - id))
        }
        let t = try RuleCompiler.compile([
            port(1, 17), port(2, 6),                                                      // one shape, two protocols
            Rule(id: 3, match: [.equals(.proto, 1), .equals(.icmpType, 8)], action: .drop, priority: 90),
            Rule(id: 4, match: [.equals(.ttl, 3)], action: .drop, priority: 80),           // any protocol
        ], bootOffsetNs: 0)
        #expect(t.shapes.count == 3)
        #expect(Self.skip(t, 0) == ~(holon_proto_bit(17) | holon_proto_bit(6)))
        #expect(Self.skip(t, 1) == ~holon_proto_bit(1))
        #expect(Self.skip(t, 2) == 0, "a rule on any protocol skips none")
        // Protocols 32 apart share a bit: never skipped for the other's sake (38 looks like 6).
        #expect(Self.skip(t, 0) & holon_proto_bit(38) == 0)
        #expect(RuleCompiler.protocolBits(Rule(id: 5, match: [.range(.proto, 6...17)], action: .drop)) == .max, "only an equality narrows")
    }
}

/// The kernel side: a packet skips the shapes of other protocols and still meets every rule
/// of its own, whichever shape holds it; a shape an edit gives another protocol stops skipping it.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF"))
struct ProtocolSkipKernelTests {
    static func frame(proto: UInt8, port: UInt16) -> [UInt8] {
        let transport: PacketSpec.Transport = proto == 6 ? .tcp(source: 40000, destination: port, flags: .ack, window: 512, urgentPointer: 0)
            : .udp(source: 40000, destination: port)
        return PacketBuilder.bytes(PacketSpec(network: .v4(PacketSpec.IPv4(source: 0xC633_6407, destination: 0x0A4D_0002)), transport: transport))
    }

    @Test func packetsSkipOtherProtocolsShapesOnly() throws {
        let dp = try Dataplane.transient()
        try dp.install([
            Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 53)], action: .drop, priority: 100),
            Rule(id: 2, match: [.equals(.proto, 1), .equals(.icmpType, 8)], action: .drop, priority: 90),
            Rule(id: 3, match: [.equals(.proto, 6), .equals(.srcPort, 40000), .equals(.dstPort, 443)], action: .drop, priority: 80),
        ])
        #expect(try dp.testRun(Self.frame(proto: 6, port: 443)).action == .drop, "past two shapes of other protocols")
        #expect(try dp.testRun(Self.frame(proto: 17, port: 53)).action == .drop)
        #expect(try dp.testRun(Self.frame(proto: 6, port: 53)).action == .pass, "a TCP packet is no UDP rule's")
        // A TCP rule joins the UDP rule's shape in place: the shape takes TCP from then on.
        try dp.add([Rule(id: 4, match: [.equals(.proto, 6), .equals(.dstPort, 22)], action: .drop, priority: 70)])
        #expect(try dp.testRun(Self.frame(proto: 6, port: 22)).action == .drop)
        #expect(try dp.testRun(Self.frame(proto: 17, port: 53)).action == .drop)
    }
}
