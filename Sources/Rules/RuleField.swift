import Packets

/// A packet field a rule can test. The raw value is the canonical name from DESIGN.md
/// ("Contracts that span modules: Fields"), the same string `PacketFeatures.fieldNames` lists,
/// in the same order; a test holds the two lists together.
///
/// Every field reads as a `UInt64` (``value(in:)``). A field the packet does not have — ports of
/// ICMP or of a non-first fragment, TCP fields of UDP, ICMP fields of TCP, an unknown
/// direction — reads as `nil`, and every predicate on it is false.
public enum RuleField: String, CaseIterable, Hashable, Sendable, Codable {
    case proto
    case srcIP = "src_ip"
    case dstIP = "dst_ip"
    case srcPort = "src_port"
    case dstPort = "dst_port"
    case tcpFlags = "tcp_flags"
    case ttl
    case df
    case mf
    case fragOffset = "frag_offset"
    case ipID = "ip_id"
    case ipLen = "ip_len"
    case tcpWindow = "tcp_window"
    case dscp
    case ecn
    case icmpType = "icmp_type"
    case icmpCode = "icmp_code"
    case payloadLen = "payload_len"
    case sizeClass = "size_class"
    case srcPortBand = "src_port_band"
    case dstPortBand = "dst_port_band"
    case direction

    /// The value the rule engine compares, or nil when the packet lacks the field.
    ///
    /// Agrees with `PacketFeatures.value(of:)` on every field (addresses are
    /// `IPAddress.fieldValue` as a bit pattern: IPv4 is the 32-bit address, IPv6 a 64-bit fold
    /// with bit 40 set, so it never equals or falls in the range of an IPv4 value). A switch on
    /// the enum, not on a string: this sits on the per-packet path.
    @inlinable
    public func value(in f: PacketFeatures) -> UInt64? {
        switch self {
        case .proto: return UInt64(f.proto)
        case .srcIP: return UInt64(bitPattern: Int64(f.srcIP.fieldValue))
        case .dstIP: return UInt64(bitPattern: Int64(f.dstIP.fieldValue))
        case .srcPort: return f.hasPorts ? UInt64(f.srcPort) : nil
        case .dstPort: return f.hasPorts ? UInt64(f.dstPort) : nil
        case .tcpFlags: return f.hasTransportHeader && f.isTCP ? UInt64(f.tcpFlags) : nil
        case .ttl: return UInt64(f.ttl)
        case .df: return f.df ? 1 : 0
        case .mf: return f.mf ? 1 : 0
        case .fragOffset: return UInt64(f.fragOffset)
        case .ipID: return UInt64(f.ipID)
        case .ipLen: return UInt64(f.ipLen)
        case .tcpWindow: return f.hasTransportHeader && f.isTCP ? UInt64(f.tcpWindow) : nil
        case .dscp: return UInt64(f.dscp)
        case .ecn: return UInt64(f.ecn)
        case .icmpType: return f.hasTransportHeader && f.isICMP ? UInt64(f.icmpType) : nil
        case .icmpCode: return f.hasTransportHeader && f.isICMP ? UInt64(f.icmpCode) : nil
        case .payloadLen: return UInt64(f.payloadLen)
        case .sizeClass: return UInt64(f.sizeClass.rawValue)
        case .srcPortBand: return f.hasPorts ? UInt64(f.srcPortBand.rawValue) : nil
        case .dstPortBand: return f.hasPorts ? UInt64(f.dstPortBand.rawValue) : nil
        case .direction: return f.direction.map { UInt64($0.rawValue) }
        }
    }

    /// True for `src_ip` and `dst_ip`, the only fields a prefix predicate may name.
    @inlinable
    public var isAddress: Bool { self == .srcIP || self == .dstIP }

    /// The largest value the field can take; a rule comparing with more is rejected rather than
    /// silently never matching.
    public var maxValue: UInt64 {
        switch self {
        case .proto, .tcpFlags, .ttl, .icmpType, .icmpCode: return 0xFF
        case .srcPort, .dstPort, .tcpWindow: return 0xFFFF
        case .df, .mf, .direction: return 1
        case .fragOffset: return 0x1FFF
        case .ipID, .ipLen, .payloadLen: return 0xFFFF_FFFF
        case .dscp: return 63
        case .ecn: return 3
        case .sizeClass: return UInt64(SizeClass.allCases.count - 1)
        case .srcPortBand, .dstPortBand: return UInt64(PortBand.allCases.count - 1)
        case .srcIP, .dstIP: return .max
        }
    }

    /// Looks a field up by its canonical name.
    public init?(name: some StringProtocol) {
        self.init(rawValue: String(name))
    }
}
