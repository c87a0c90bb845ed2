@testable import Detection
import Holon
import Packets
import Testing

/// The one filter ChangeJudge and AttackNamer both walk packets through: it keeps exactly the
/// fields it says, in the record's order, and nothing else.
struct FieldFilterTests {
    /// The names a walk visits, in order.
    struct Names: WalkVisitor {
        var names: [FieldName] = []
        mutating func visit(_ f: FieldName, _ v: Int) { names.append(f) }
        mutating func visit(_ f: FieldName, _ v: String) { names.append(f) }
        mutating func visit(_ f: FieldName, _ v: Bool) { names.append(f) }
        mutating func visit(_ f: FieldName, _ v: Double) { names.append(f) }
        mutating func visit(_ f: FieldName, scalar v: Double, _ e: ScalarEncoding) { names.append(f) }
        mutating func visit<W: Walkable>(_ f: FieldName, record: W) { names.append(f) }
        mutating func visitList<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) { names.append(f) }
        mutating func visitSet<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) { names.append(f) }
        mutating func visitList(_ f: FieldName, scalars items: some Collection<ScalarValue>) { names.append(f) }
        mutating func visitSet(_ f: FieldName, scalars items: some Collection<ScalarValue>) { names.append(f) }
    }

    static func names<W: Walkable>(_ w: W) -> [FieldName] {
        var n = Names()
        w.walk(into: &n)
        return n.names
    }

    static let packet: PacketFeatures = {
        var f = PacketFeatures()
        f.ipVersion = 4
        f.proto = 6
        f.hasTransportHeader = true
        f.srcIP = .v4(0x0A00_0001)
        f.dstIP = .v4(0xC633_640A)
        f.srcPort = 40_000
        f.dstPort = 443
        f.tcpFlags = 0x10
        f.ttl = 64
        f.tcpWindow = 512
        f.ipLen = 60
        return f
    }()

    @Test func onlyAndWithoutSplitTheRecordBetweenThem() {
        let all = Self.names(DetectorRecord(Self.packet))
        let picked: Set<FieldName> = [PacketField.proto.fieldName, PacketField.ttl.fieldName, DetectorRecord.srcPrefix8]
        let only = Self.names(FilteredRecord(packet: Self.packet, filter: .only(picked)))
        let without = Self.names(FilteredRecord(packet: Self.packet, filter: .without(picked)))
        #expect(only == all.filter(picked.contains), "\(only)")
        #expect(without == all.filter { !picked.contains($0) }, "\(without)")
        #expect(Self.names(FilteredRecord(packet: Self.packet, filter: .without([]))) == all)
        #expect(Self.names(FilteredRecord(packet: Self.packet, filter: .only([]))).isEmpty)
    }

    /// AttackNamer: "the example's addresses and TTL do not count".
    @Test func attackPrototypesLeaveOutAddressesAndTTL() {
        let kept = Set(Self.names(FilteredRecord(packet: Self.packet, filter: AttackNamer.characteristic)))
        for f in [PacketField.dstIP.fieldName, DetectorRecord.srcPrefix8, PacketField.ttl.fieldName, PacketField.tcpWindow.fieldName] {
            #expect(!kept.contains(f), "\(f)")
        }
        #expect(kept.contains(PacketField.proto.fieldName) && kept.contains(PacketField.tcpFlags.fieldName))
    }

    /// ChangeJudge leaves out every record field a rule field is encoded as: a port rule leaves
    /// out the port however it was encoded (exactly, or as its band).
    @Test func aRuleFieldIsLeftOutHoweverItIsEncoded() {
        let left = FieldFilter.without(Set([PacketField.srcPort, .dstPort].flatMap { DetectorRecord.fields(encoding: $0) }))
        let kept = Set(Self.names(FilteredRecord(packet: Self.packet, filter: left)))
        let ports: [FieldName] = [PacketField.srcPort, .dstPort, .srcPortBand, .dstPortBand].map(\.fieldName)
        #expect(ports.allSatisfy { !kept.contains($0) }, "\(kept)")
        #expect(kept.contains(PacketField.proto.fieldName))
    }
}
