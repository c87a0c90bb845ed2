import Holon
import Packets
import Rules

/// A packet walked as ``DetectorRecord`` with some fields left out: the record's bundle with
/// those role–filler pairs unbound. Comparing such bundles compares everything *but* the
/// fields left out (issue 14 §3: "unbind the new field and compare what is left").
struct RecordWithout: Walkable {
    let packet: PacketFeatures
    let left: Set<FieldName>

    struct Filter<V: WalkVisitor>: WalkVisitor {
        var inner: V
        let left: Set<FieldName>
        mutating func visit(_ f: FieldName, _ v: Int) { if !left.contains(f) { inner.visit(f, v) } }
        mutating func visit(_ f: FieldName, _ v: String) { if !left.contains(f) { inner.visit(f, v) } }
        mutating func visit(_ f: FieldName, _ v: Bool) { if !left.contains(f) { inner.visit(f, v) } }
        mutating func visit(_ f: FieldName, _ v: Double) { if !left.contains(f) { inner.visit(f, v) } }
        mutating func visit(_ f: FieldName, scalar v: Double, _ e: ScalarEncoding) {
            if !left.contains(f) { inner.visit(f, scalar: v, e) }
        }
        mutating func visit<W: Walkable>(_ f: FieldName, record: W) {}
        mutating func visitList<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) {}
        mutating func visitSet<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) {}
        mutating func visitList(_ f: FieldName, scalars items: some Collection<ScalarValue>) {}
        mutating func visitSet(_ f: FieldName, scalars items: some Collection<ScalarValue>) {}
    }

    func walk<V: WalkVisitor>(into v: inout V) {
        var filter = Filter(inner: v, left: left)
        DetectorRecord(packet).walk(into: &filter)
        v = filter.inner
    }

    /// The record fields a rule field is encoded as (a port is its exact value or its band).
    static func encoded(_ field: RuleField) -> [FieldName] {
        switch field {
        case .srcPort: return [PacketField.srcPort.fieldName, PacketField.srcPortBand.fieldName]
        case .dstPort: return [PacketField.dstPort.fieldName, PacketField.dstPortBand.fieldName]
        case .mf, .fragOffset: return [DetectorRecord.fragment]
        case .srcIP: return [DetectorRecord.srcPrefix8]
        default: return [field.fieldName]
        }
    }
}
