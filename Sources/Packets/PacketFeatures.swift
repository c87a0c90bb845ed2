import Holon

/// Port bands a rule can name without listing ports.
public enum PortBand: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// 0…1023
    case wellKnown = 0
    /// 1024…49151
    case registered = 1
    /// 49152…65535
    case ephemeral = 2

    @inlinable
    public init(port: UInt16) {
        self = port < 1024 ? .wellKnown : (port < 49152 ? .registered : .ephemeral)
    }

    public var description: String {
        switch self {
        case .wellKnown: return "well-known"
        case .registered: return "registered"
        case .ephemeral: return "ephemeral"
        }
    }
}

/// Packet size classes over the IP length (link-independent, so the same packet gets the same
/// class from a raw-IP capture, an Ethernet capture and XDP).
public enum SizeClass: Int, Sendable, CaseIterable, CustomStringConvertible {
    case tiny = 0      // ≤ 64
    case small = 1     // ≤ 128
    case medium = 2    // ≤ 256
    case large = 3     // ≤ 512
    case larger = 4    // ≤ 1024
    case full = 5      // ≤ 1500
    case jumbo = 6     // > 1500

    @inlinable
    public init(ipLength: UInt32) {
        switch ipLength {
        case ...64: self = .tiny
        case ...128: self = .small
        case ...256: self = .medium
        case ...512: self = .large
        case ...1024: self = .larger
        case ...1500: self = .full
        default: self = .jumbo
        }
    }

    public var description: String {
        ["tiny", "small", "medium", "large", "larger", "full", "jumbo"][rawValue]
    }
}

public enum Direction: Int, Sendable {
    case inbound = 0
    case outbound = 1
}

/// One packet as a flat record of the fields named in DESIGN.md ("Contracts that span modules").
/// Fields a packet does not have (ports of ICMP, of a non-first fragment) are zero and are not
/// walked.
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
    public var dscp: UInt8 = 0
    public var ecn: UInt8 = 0
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    /// Bytes after the transport header (after the IP header when there is none), from the
    /// IP length fields, not from what was captured.
    public var payloadLen: UInt32 = 0
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
    /// Field names, made once so walking never hashes a string.
    public enum Field {
        public static let proto = FieldName("proto")
        public static let srcIP = FieldName("src_ip")
        public static let dstIP = FieldName("dst_ip")
        public static let srcPort = FieldName("src_port")
        public static let dstPort = FieldName("dst_port")
        public static let tcpFlags = FieldName("tcp_flags")
        public static let ttl = FieldName("ttl")
        public static let df = FieldName("df")
        public static let mf = FieldName("mf")
        public static let fragOffset = FieldName("frag_offset")
        public static let ipID = FieldName("ip_id")
        public static let ipLen = FieldName("ip_len")
        public static let tcpWindow = FieldName("tcp_window")
        public static let dscp = FieldName("dscp")
        public static let ecn = FieldName("ecn")
        public static let icmpType = FieldName("icmp_type")
        public static let icmpCode = FieldName("icmp_code")
        public static let payloadLen = FieldName("payload_len")
        public static let sizeClass = FieldName("size_class")
        public static let srcPortBand = FieldName("src_port_band")
        public static let dstPortBand = FieldName("dst_port_band")
        public static let direction = FieldName("direction")
    }

    /// The canonical field list, in DESIGN.md order: the XDP header, the encoder, the rule
    /// language and the API share these names.
    public static let fieldNames: [String] = [
        "proto", "src_ip", "dst_ip", "src_port", "dst_port", "tcp_flags", "ttl", "df", "mf",
        "frag_offset", "ip_id", "ip_len", "tcp_window", "dscp", "ecn", "icmp_type", "icmp_code",
        "payload_len", "size_class", "src_port_band", "dst_port_band", "direction",
    ]

    /// The value of a field by name as the walk visits it, or nil when the packet does not
    /// have the field. For tools and tests; the hot path walks.
    public func value(of field: String) -> Int? {
        let transport = hasTransportHeader
        switch field {
        case "proto": return Int(proto)
        case "src_ip": return srcIP.fieldValue
        case "dst_ip": return dstIP.fieldValue
        case "ttl": return Int(ttl)
        case "df": return df ? 1 : 0
        case "mf": return mf ? 1 : 0
        case "frag_offset": return Int(fragOffset)
        case "ip_id": return Int(ipID)
        case "ip_len": return Int(ipLen)
        case "dscp": return Int(dscp)
        case "ecn": return Int(ecn)
        case "payload_len": return Int(payloadLen)
        case "size_class": return sizeClass.rawValue
        case "src_port": return hasPorts ? Int(srcPort) : nil
        case "dst_port": return hasPorts ? Int(dstPort) : nil
        case "src_port_band": return hasPorts ? srcPortBand.rawValue : nil
        case "dst_port_band": return hasPorts ? dstPortBand.rawValue : nil
        case "tcp_flags": return transport && isTCP ? Int(tcpFlags) : nil
        case "tcp_window": return transport && isTCP ? Int(tcpWindow) : nil
        case "icmp_type": return transport && isICMP ? Int(icmpType) : nil
        case "icmp_code": return transport && isICMP ? Int(icmpCode) : nil
        case "direction": return direction?.rawValue
        default: return nil
        }
    }
}

extension PacketFeatures: Walkable {
    /// Every value is an `Int`: addresses by ``IPAddress/fieldValue``, flags df/mf as 0/1,
    /// bands and size class by raw value. Fields the packet lacks are not visited.
    @inlinable
    public func walk<V: WalkVisitor>(into visitor: inout V) {
        visitor.visit(Field.proto, Int(proto))
        visitor.visit(Field.srcIP, srcIP.fieldValue)
        visitor.visit(Field.dstIP, dstIP.fieldValue)
        visitor.visit(Field.ttl, Int(ttl))
        visitor.visit(Field.df, df ? 1 : 0)
        visitor.visit(Field.mf, mf ? 1 : 0)
        visitor.visit(Field.fragOffset, Int(fragOffset))
        visitor.visit(Field.ipID, Int(ipID))
        visitor.visit(Field.ipLen, Int(ipLen))
        visitor.visit(Field.dscp, Int(dscp))
        visitor.visit(Field.ecn, Int(ecn))
        visitor.visit(Field.payloadLen, Int(payloadLen))
        visitor.visit(Field.sizeClass, sizeClass.rawValue)
        if hasTransportHeader {
            if isTCP || isUDP {
                visitor.visit(Field.srcPort, Int(srcPort))
                visitor.visit(Field.dstPort, Int(dstPort))
                visitor.visit(Field.srcPortBand, srcPortBand.rawValue)
                visitor.visit(Field.dstPortBand, dstPortBand.rawValue)
            }
            if isTCP {
                visitor.visit(Field.tcpFlags, Int(tcpFlags))
                visitor.visit(Field.tcpWindow, Int(tcpWindow))
            }
            if isICMP {
                visitor.visit(Field.icmpType, Int(icmpType))
                visitor.visit(Field.icmpCode, Int(icmpCode))
            }
        }
        if let direction {
            visitor.visit(Field.direction, direction.rawValue)
        }
    }
}
