import CHolonFields
import Holon

/// A packet field: one row of the field table (Sources/CHolonFields/include/holon_fields.h), the
/// list the XDP program, the parser, the encoder, the rule language (`RuleField` is this type)
/// and the API share. The table gives each field its id (its slot in the XDP program and in
/// compiled rules), name, largest value and which packets carry it; this enum binds a Swift case
/// to its row (``id``) and reads its value from ``PacketFeatures`` (``value(in:)``).
///
/// Every field reads as a `UInt64`. A field the packet does not carry — ports of ICMP or of a
/// non-first fragment, TCP fields of UDP, ICMP fields of TCP, an unknown direction — reads as
/// `nil`, and every predicate on it is false.
///
/// Cases are declared in id order, so `allCases` is the table's order; a test holds them to it.
public enum PacketField: CaseIterable, Hashable, Sendable, Codable {
    case proto, srcIP, dstIP, srcPort, dstPort, tcpFlags, ttl, df, mf, fragOffset, ipID, ipLen
    case tcpWindow, dscp, ecn, icmpType, icmpCode, payloadLen, sizeClass, srcPortBand, dstPortBand
    case direction, tcpUrgentPtr

    /// The field's id in the table: the one place a case meets its row.
    @inlinable
    public var id: UInt32 {
        switch self {
        case .proto: return HOLON_F_PROTO.rawValue
        case .srcIP: return HOLON_F_SRC_IP.rawValue
        case .dstIP: return HOLON_F_DST_IP.rawValue
        case .srcPort: return HOLON_F_SRC_PORT.rawValue
        case .dstPort: return HOLON_F_DST_PORT.rawValue
        case .tcpFlags: return HOLON_F_TCP_FLAGS.rawValue
        case .ttl: return HOLON_F_TTL.rawValue
        case .df: return HOLON_F_DF.rawValue
        case .mf: return HOLON_F_MF.rawValue
        case .fragOffset: return HOLON_F_FRAG_OFFSET.rawValue
        case .ipID: return HOLON_F_IP_ID.rawValue
        case .ipLen: return HOLON_F_IP_LEN.rawValue
        case .tcpWindow: return HOLON_F_TCP_WINDOW.rawValue
        case .dscp: return HOLON_F_DSCP.rawValue
        case .ecn: return HOLON_F_ECN.rawValue
        case .icmpType: return HOLON_F_ICMP_TYPE.rawValue
        case .icmpCode: return HOLON_F_ICMP_CODE.rawValue
        case .payloadLen: return HOLON_F_PAYLOAD_LEN.rawValue
        case .sizeClass: return HOLON_F_SIZE_CLASS.rawValue
        case .srcPortBand: return HOLON_F_SRC_PORT_BAND.rawValue
        case .dstPortBand: return HOLON_F_DST_PORT_BAND.rawValue
        case .direction: return HOLON_F_DIRECTION.rawValue
        case .tcpUrgentPtr: return HOLON_F_TCP_URGENT_PTR.rawValue
        }
    }

    /// The field of a table id (nil past the rule fields: the raw address views are not fields).
    public init?(id: UInt32) {
        guard id < Self.byID.count else { return nil }
        self = Self.byID[Int(id)]
    }

    /// Fields indexed by id. Built once and checked: a case bound to a wrong or repeated row
    /// stops the process here rather than making rules test the wrong field.
    static let byID: [PacketField] = {
        let table = allCases.sorted { $0.id < $1.id }
        precondition(table.map(\.id) == Array(0..<UInt32(HOLON_F_RULE_FIELDS)),
                     "PacketField ids must be exactly the field table's rows 0..<HOLON_F_RULE_FIELDS")
        return table
    }()

    /// The canonical name (DESIGN.md), from the table.
    public var name: String { Self.names[Int(id)] }

    /// The name, under the spelling a `String` raw value had. Not `RawRepresentable`: that would
    /// make hashing go through the string instead of the case.
    public var rawValue: String { name }

    public init?(rawValue: String) {
        var s = rawValue
        guard let f = s.withUTF8({ Self(utf8: $0) }) else { return nil }
        self = f
    }

    /// Looks a field up by the UTF-8 of its name (the rule reader matches the bytes of a line).
    public init?(utf8 name: UnsafeBufferPointer<UInt8>) {
        guard let i = Self.utf8Names.firstIndex(where: { $0.sameBytes(as: name) }) else { return nil }
        self = Self.byID[i]
    }

    private static let utf8Names: [[UInt8]] = names.map { Array($0.utf8) }

    /// Encoded as its name, as in the rule JSON.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let field = Self(rawValue: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown field \(name)")
        }
        self = field
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    /// Looks a field up by its canonical name.
    public init?(name: some StringProtocol) { self.init(rawValue: String(name)) }

    static let names: [String] = byID.map { String(cString: holon_field_name($0.id)) }

    /// The name as the encoder binds it, made once so walking never hashes a string.
    @inlinable @inline(__always)
    public var fieldName: FieldName { Self.fieldNames[Int(id)] }

    @usableFromInline static let fieldNames: [FieldName] = names.map(FieldName.init)

    /// The largest value the field can take (from the table); a rule comparing with more is
    /// rejected rather than silently never matching.
    public var maxValue: UInt64 { holon_field_max(id) }

    /// Whether the packet carries the field, by the table's carrier of the field.
    @inlinable @inline(__always)
    public func isPresent(in f: PacketFeatures) -> Bool {
        switch holon_carrier(holon_field_carrier(id)) {
        case HOLON_CARRY_IP: return true
        case HOLON_CARRY_PORTS: return f.hasPorts
        case HOLON_CARRY_TCP: return f.hasTransportHeader && f.isTCP
        case HOLON_CARRY_ICMP: return f.hasTransportHeader && f.isICMP
        default: return f.direction != nil   // HOLON_CARRY_FILTER: the filter says, or nobody
        }
    }

    /// The value the rule engine compares and the encoder binds, or nil when the packet lacks
    /// the field. Addresses are `IPAddress.fieldValue` as a bit pattern: IPv4 is the 32-bit
    /// address, IPv6 a 64-bit fold with bit 40 set, so it never equals or falls in the range of
    /// an IPv4 value. Switches, not lookups: this sits on the per-packet path, and always
    /// inlined, so a constant field (the detector's record) folds to one load.
    @inlinable @inline(__always)
    public func value(in f: PacketFeatures) -> UInt64? {
        isPresent(in: f) ? read(f) : nil
    }

    /// The field's value whether or not the packet carries it (zero when it does not).
    @inlinable @inline(__always)
    func read(_ f: PacketFeatures) -> UInt64 {
        switch self {
        case .proto: return UInt64(f.proto)
        case .srcIP: return UInt64(bitPattern: Int64(f.srcIP.fieldValue))
        case .dstIP: return UInt64(bitPattern: Int64(f.dstIP.fieldValue))
        case .srcPort: return UInt64(f.srcPort)
        case .dstPort: return UInt64(f.dstPort)
        case .tcpFlags: return UInt64(f.tcpFlags)
        case .ttl: return UInt64(f.ttl)
        case .df: return f.df ? 1 : 0
        case .mf: return f.mf ? 1 : 0
        case .fragOffset: return UInt64(f.fragOffset)
        case .ipID: return UInt64(f.ipID)
        case .ipLen: return UInt64(f.ipLen)
        case .tcpWindow: return UInt64(f.tcpWindow)
        case .dscp: return UInt64(f.dscp)
        case .ecn: return UInt64(f.ecn)
        case .icmpType: return UInt64(f.icmpType)
        case .icmpCode: return UInt64(f.icmpCode)
        case .payloadLen: return UInt64(f.payloadLen)
        case .sizeClass: return UInt64(f.sizeClass.rawValue)
        case .srcPortBand: return UInt64(f.srcPortBand.rawValue)
        case .dstPortBand: return UInt64(f.dstPortBand.rawValue)
        case .direction: return UInt64(f.direction?.rawValue ?? 0)
        case .tcpUrgentPtr: return UInt64(f.tcpUrgentPtr)
        }
    }

    /// The order ``PacketFeatures`` walks its fields in: by carrier (the table's enum order:
    /// IP, ports, TCP, ICMP, filter), then by id. Encoded vectors depend on it only through the
    /// names and values visited; the order is fixed so a walk is reproducible.
    public static let walkOrder: [PacketField] = byID.sorted {
        (holon_field_carrier($0.id), $0.id) < (holon_field_carrier($1.id), $1.id)
    }
}
