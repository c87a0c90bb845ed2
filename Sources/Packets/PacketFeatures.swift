import Holon

public enum Direction: Int, Sendable {
    case inbound = 0
    case outbound = 1
}

/// One packet as a flat record of the fields of the field table (``PacketField``, DESIGN.md
/// "Contracts that span modules"). Fields a packet does not have (ports of ICMP, of a non-first
/// fragment) are zero and are not walked.
public struct PacketFeatures: Hashable, Sendable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: UInt64 = 0
    /// Length of the frame on the wire (may exceed what was captured).
    public var wireLength: UInt32 = 0
    /// 4 or 6.
    public var ipVersion: UInt8 = 0
    /// IP protocol of the upper layer (after IPv6 extension headers).
    public var proto: UInt8 = 0
    public var srcIP: IPAddress = .zero
    public var dstIP: IPAddress = .zero
    public var srcPort: UInt16 = 0
    public var dstPort: UInt16 = 0
    /// The TCP/UDP/ICMP header was present and parsed (false for a non-first fragment, ESP, …).
    public var hasTransportHeader = false
    /// Byte 13 of the TCP header (CWR…FIN).
    public var tcpFlags: UInt8 = 0
    /// TTL (IPv4) or hop limit (IPv6).
    public var ttl: UInt8 = 0
    public var df = false
    public var mf = false
    /// Fragment offset in 8-byte units, as on the wire.
    public var fragOffset: UInt16 = 0
    /// IPv4 identification, or the IPv6 fragment header's identification (0 if none).
    public var ipID: UInt32 = 0
    /// IPv4 total length; IPv6 payload length + 40.
    public var ipLen: UInt32 = 0
    public var tcpWindow: UInt16 = 0
    /// The TCP urgent pointer (meaningful with the URG flag; nonzero without it is a crafted packet).
    public var tcpUrgentPtr: UInt16 = 0
    public var dscp: UInt8 = 0
    public var ecn: UInt8 = 0
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    /// Bytes after the transport header (after the IP header when there is none), from the
    /// IP length fields, not from what was captured.
    public var payloadLen: UInt32 = 0
    /// The payload's first bytes, as far as they were captured (byte predicates test them).
    public var payload = PayloadHead()
    public var direction: Direction?

    @inlinable public init() {}

    @inlinable public var sizeClass: SizeClass { SizeClass(ipLength: ipLen) }
    @inlinable public var srcPortBand: PortBand { PortBand(port: srcPort) }
    @inlinable public var dstPortBand: PortBand { PortBand(port: dstPort) }
    @inlinable public var isTCP: Bool { proto == IPProtocol.tcp }
    @inlinable public var isUDP: Bool { proto == IPProtocol.udp }
    @inlinable public var isICMP: Bool { proto == IPProtocol.icmp || proto == IPProtocol.icmpv6 }
    @inlinable public var hasPorts: Bool { hasTransportHeader && (isTCP || isUDP) }
    /// True for the first fragment and for unfragmented packets.
    @inlinable public var isFirstFragment: Bool { fragOffset == 0 }
}

extension PacketFeatures {
    /// The value of a field by name as the walk visits it, or nil when the packet does not
    /// have the field (or there is no such field). For tools and tests; the hot path walks.
    public func value(of field: String) -> Int? {
        PacketField(rawValue: field)?.value(in: self).map { Int(truncatingIfNeeded: $0) }
    }
}

extension PacketFeatures: Walkable {
    /// Every field the packet carries, in ``PacketField/walkOrder``, each value an `Int`:
    /// addresses by ``IPAddress/fieldValue``, flags df/mf as 0/1, bands and size class by raw
    /// value. Fields the packet lacks are not visited.
    @inlinable
    public func walk<V: WalkVisitor>(into visitor: inout V) {
        for field in PacketField.walkOrder where field.isPresent(in: self) {
            visitor.visit(field.fieldName, Int(truncatingIfNeeded: field.read(self)))
        }
    }
}
