import Holon
import Packets

/// The view of a packet the detector encodes: the shared fields, with values that identify
/// traffic *kinds* rather than individual flows. A port outside the well-known band is encoded as
/// its band (``encodesExactly(port:)``) and a source as its /8, so normal traffic reuses a few hundred cached pairs (which stay in the CPU's
/// cache) and the vector carries what a rule can act on; per-packet noise (IP ID, exact lengths)
/// is left out. Attribution still looks at exact values and finer prefixes in its sample ring.
@usableFromInline
struct DetectorRecord: Walkable {
    @usableFromInline let f: PacketFeatures

    @inlinable init(_ f: PacketFeatures) { self.f = f }

    @usableFromInline static let srcPrefix8 = FieldName("src_prefix8")
    @usableFromInline static let fragment = FieldName("fragment")

    /// The detector's port rule, for the encoder here and for attribution (``Detector``,
    /// ``RuleDeriver``): a well-known port names a service and is encoded exactly; any other
    /// port is one of many a flow picks, and is encoded as its band.
    @inlinable
    static func encodesExactly(port: UInt64) -> Bool {
        port <= UInt64(UInt16.max) && PortBand(port: UInt16(port)) == .wellKnown
    }

    /// Visits `field` with the packet's value when the packet carries it.
    @inlinable
    func visit<V: WalkVisitor>(_ field: PacketField, into v: inout V) {
        if let x = field.value(in: f) { v.visit(field.fieldName, Int(truncatingIfNeeded: x)) }
    }

    /// Visits a port exactly or as its band.
    @inlinable
    func visit<V: WalkVisitor>(port: PacketField, band: PacketField, into v: inout V) {
        guard let p = port.value(in: f) else { return }
        visit(Self.encodesExactly(port: p) ? port : band, into: &v)
    }

    /// The fields in the order of the walk before the table: encoded vectors stay as they were.
    /// `tcp_urgent_ptr` is not encoded (its value is 0 in nearly all traffic; a rule on it comes
    /// from an operator, not from attribution).
    @inlinable
    func walk<V: WalkVisitor>(into v: inout V) {
        visit(.proto, into: &v)
        visit(.dstIP, into: &v)
        v.visit(Self.srcPrefix8, f.srcIP.fieldValue >> 24)
        visit(.ttl, into: &v)
        visit(.df, into: &v)
        v.visit(Self.fragment, f.fragOffset != 0 ? 2 : (f.mf ? 1 : 0))
        visit(.sizeClass, into: &v)
        visit(port: .srcPort, band: .srcPortBand, into: &v)
        visit(port: .dstPort, band: .dstPortBand, into: &v)
        visit(.tcpFlags, into: &v)
        visit(.tcpWindow, into: &v)
        visit(.icmpType, into: &v)
        visit(.icmpCode, into: &v)
    }
}
