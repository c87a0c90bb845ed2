import Holon
import Packets

/// Which of a packet's ``DetectorRecord`` fields an encoding counts: a set of fields and whether
/// they are the only ones kept or the ones left out.
///
/// Two parts of the detector compare packets on some of their fields only: ``ChangeJudge``
/// compares everything *but* the fields of a rule (issue 14 §3: "unbind the new field and
/// compare what is left"), and ``AttackNamer`` compares prototypes on the fields that say what
/// an attack is. Both walk the record through this one filter, so a field means the same thing
/// to both and the record's walk is written once.
struct FieldFilter: Sendable {
    let fields: Set<FieldName>
    /// true: only `fields` are kept; false: all but `fields`.
    let keepsListed: Bool

    static func only(_ fields: Set<FieldName>) -> FieldFilter { FieldFilter(fields: fields, keepsListed: true) }
    static func without(_ fields: Set<FieldName>) -> FieldFilter { FieldFilter(fields: fields, keepsListed: false) }

    @inline(__always)
    func keeps(_ f: FieldName) -> Bool { fields.contains(f) == keepsListed }

    /// Passes on the plain and scalar fields the filter keeps. The detector's record has no
    /// nested records, lists or sets; any would be dropped.
    struct Visitor<V: WalkVisitor>: WalkVisitor {
        var inner: V
        let filter: FieldFilter
        mutating func visit(_ f: FieldName, _ v: Int) { if filter.keeps(f) { inner.visit(f, v) } }
        mutating func visit(_ f: FieldName, _ v: String) { if filter.keeps(f) { inner.visit(f, v) } }
        mutating func visit(_ f: FieldName, _ v: Bool) { if filter.keeps(f) { inner.visit(f, v) } }
        mutating func visit(_ f: FieldName, _ v: Double) { if filter.keeps(f) { inner.visit(f, v) } }
        mutating func visit(_ f: FieldName, scalar v: Double, _ e: ScalarEncoding) {
            if filter.keeps(f) { inner.visit(f, scalar: v, e) }
        }
        mutating func visit<W: Walkable>(_ f: FieldName, record: W) {}
        mutating func visitList<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) {}
        mutating func visitSet<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) {}
        mutating func visitList(_ f: FieldName, scalars items: some Collection<ScalarValue>) {}
        mutating func visitSet(_ f: FieldName, scalars items: some Collection<ScalarValue>) {}
    }
}

/// A packet walked as ``DetectorRecord`` through a ``FieldFilter``: encoded, the bundle of only
/// the role–filler pairs the filter keeps.
struct FilteredRecord: Walkable {
    let packet: PacketFeatures
    let filter: FieldFilter

    func walk<V: WalkVisitor>(into v: inout V) {
        var visitor = FieldFilter.Visitor(inner: v, filter: filter)
        DetectorRecord(packet).walk(into: &visitor)
        v = visitor.inner
    }
}
