import Holon
import Packets

/// The view of a packet the detector encodes: the shared fields, with values that identify
/// traffic *kinds* rather than individual flows. A port above 1023 is encoded as its band and a
/// source as its /8, so normal traffic reuses a few hundred cached pairs (which stay in the CPU's
/// cache) and the vector carries what a rule can act on; per-packet noise (IP ID, exact lengths)
/// is left out. Attribution still looks at exact values and finer prefixes in its sample ring.
@usableFromInline
struct DetectorRecord: Walkable {
    @usableFromInline let f: PacketFeatures

    @inlinable init(_ f: PacketFeatures) { self.f = f }

    @usableFromInline static let srcPrefix8 = FieldName("src_prefix8")
    @usableFromInline static let fragment = FieldName("fragment")

    @inlinable
    func walk<V: WalkVisitor>(into v: inout V) {
        typealias F = PacketFeatures.Field
        v.visit(F.proto, Int(f.proto))
        v.visit(F.dstIP, f.dstIP.fieldValue)
        let src = f.srcIP.fieldValue
        v.visit(Self.srcPrefix8, src >> 24)
        v.visit(F.ttl, Int(f.ttl))
        v.visit(F.df, f.df ? 1 : 0)
        v.visit(Self.fragment, f.fragOffset != 0 ? 2 : (f.mf ? 1 : 0))
        v.visit(F.sizeClass, f.sizeClass.rawValue)
        if f.hasPorts {
            if f.srcPort < 1024 { v.visit(F.srcPort, Int(f.srcPort)) } else { v.visit(F.srcPortBand, f.srcPortBand.rawValue) }
            if f.dstPort < 1024 { v.visit(F.dstPort, Int(f.dstPort)) } else { v.visit(F.dstPortBand, f.dstPortBand.rawValue) }
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
