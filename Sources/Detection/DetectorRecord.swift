import Holon
import Packets

/// The view of a packet the detector encodes: the shared fields, with values that identify
/// traffic *kinds* rather than individual flows. A port outside the well-known band is encoded as
/// its band (``encodesExactly(port:)``) and a source as its /8, so normal traffic reuses a few
/// hundred cached pairs (which stay in the CPU's cache) and the vector carries what a rule can act
/// on; per-packet noise (IP ID, exact lengths) is left out. Attribution still looks at exact values and finer prefixes in its sample ring.
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

    /// The fields in the order of the walk before the table: encoded vectors stay as they were.
    /// Names come from the table; values are read straight from the packet (through
    /// `PacketField.value(in:)` the walk measured 2 % slower on `holon bench detect`, its helper
    /// left out of line). Presence is the table's carriers: ports with a TCP/UDP header, TCP and
    /// ICMP fields with their header. `tcp_urgent_ptr` is not encoded (it is 0 in nearly all
    /// traffic; a rule on it comes from an operator, not from attribution).
    @inlinable
    func walk<V: WalkVisitor>(into v: inout V) {
        typealias F = PacketField
        v.visit(F.proto.fieldName, Int(f.proto))
        v.visit(F.dstIP.fieldName, f.dstIP.fieldValue)
        v.visit(Self.srcPrefix8, f.srcIP.fieldValue >> 24)
        v.visit(F.ttl.fieldName, Int(f.ttl))
        v.visit(F.df.fieldName, f.df ? 1 : 0)
        v.visit(Self.fragment, f.fragOffset != 0 ? 2 : (f.mf ? 1 : 0))
        v.visit(F.sizeClass.fieldName, f.sizeClass.rawValue)
        if f.hasPorts {
            let src = Self.encodesExactly(port: UInt64(f.srcPort)), dst = Self.encodesExactly(port: UInt64(f.dstPort))
            v.visit(src ? F.srcPort.fieldName : F.srcPortBand.fieldName, src ? Int(f.srcPort) : f.srcPortBand.rawValue)
            v.visit(dst ? F.dstPort.fieldName : F.dstPortBand.fieldName, dst ? Int(f.dstPort) : f.dstPortBand.rawValue)
        }
        if f.hasTransportHeader {
            if f.isTCP {
                v.visit(F.tcpFlags.fieldName, Int(f.tcpFlags))
                v.visit(F.tcpWindow.fieldName, Int(f.tcpWindow))
            }
            if f.isICMP {
                v.visit(F.icmpType.fieldName, Int(f.icmpType))
                v.visit(F.icmpCode.fieldName, Int(f.icmpCode))
            }
        }
    }
}

extension DetectorRecord {
    /// The record fields a rule field is encoded as (a port is its exact value or its band): what
    /// a comparison that leaves a rule's fields out must leave out (``ChangeJudge``).
    static func fields(encoding field: PacketField) -> [FieldName] {
        switch field {
        case .srcPort: return [PacketField.srcPort.fieldName, PacketField.srcPortBand.fieldName]
        case .dstPort: return [PacketField.dstPort.fieldName, PacketField.dstPortBand.fieldName]
        case .mf, .fragOffset: return [fragment]
        case .srcIP: return [srcPrefix8]
        default: return [field.fieldName]
        }
    }
}
