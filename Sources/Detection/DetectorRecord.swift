import Holon
import Packets

/// The view of a packet the detector encodes: the shared fields, with values that identify
/// traffic *kinds* rather than individual flows. Ephemeral ports are encoded as their band and
/// sources as their /8 and /16, so normal traffic reuses cached pairs and the vector carries what
/// a rule can act on; per-packet noise (IP ID, exact lengths) is left out. Attribution still looks
/// at exact values in its sample ring.
@usableFromInline
struct DetectorRecord: Walkable {
    @usableFromInline let f: PacketFeatures

    @inlinable init(_ f: PacketFeatures) { self.f = f }

    @usableFromInline static let srcPrefix8 = FieldName("src_prefix8")
    @usableFromInline static let srcPrefix16 = FieldName("src_prefix16")
    @usableFromInline static let fragment = FieldName("fragment")

    @inlinable
    func walk<V: WalkVisitor>(into v: inout V) {
        typealias F = PacketFeatures.Field
        v.visit(F.proto, Int(f.proto))
        v.visit(F.dstIP, f.dstIP.fieldValue)
        let src = f.srcIP.fieldValue
        v.visit(Self.srcPrefix8, src >> 24)
        v.visit(Self.srcPrefix16, src >> 16)
        v.visit(F.ttl, Int(f.ttl))
        v.visit(F.df, f.df ? 1 : 0)
        v.visit(Self.fragment, f.fragOffset != 0 ? 2 : (f.mf ? 1 : 0))
        v.visit(F.dscp, Int(f.dscp))
        v.visit(F.sizeClass, f.sizeClass.rawValue)
        if f.hasPorts {
            if f.srcPort < 1024 { v.visit(F.srcPort, Int(f.srcPort)) }
            if f.dstPort < 1024 { v.visit(F.dstPort, Int(f.dstPort)) }
            v.visit(F.srcPortBand, f.srcPortBand.rawValue)
            v.visit(F.dstPortBand, f.dstPortBand.rawValue)
        }
        if f.hasTransportHeader {
            if f.isTCP {
                v.visit(F.tcpFlags, Int(f.tcpFlags))
                v.visit(F.tcpWindow, Int(f.tcpWindow))
            }
            if f.isICMP {
                v.visit(F.icmpType, Int(f.icmpType))
                v.visit(F.icmpCode, Int(f.icmpCode))
            }
        }
    }
}
