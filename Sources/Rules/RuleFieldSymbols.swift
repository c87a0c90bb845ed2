import Packets

/// Symbolic names for field values, shared by the rule text and the JSON decoder.
///
/// Invariant: for every field `f` and every value `v ≤ f.maxValue`,
/// `f.parseValue(f.format(v)) == v` — the printer may choose a name or a number, the parser
/// reads both.
extension RuleField {
    /// IP protocol names (lower case, as `IPProtocol.name` prints them).
    public static let protocolNames: [(name: String, number: UInt64)] = [
        ("icmp", 1), ("igmp", 2), ("ipip", 4), ("tcp", 6), ("udp", 17), ("ipv6", 41),
        ("gre", 47), ("esp", 50), ("ah", 51), ("icmpv6", 58), ("ospf", 89), ("sctp", 132),
    ]

    /// TCP flag bits, in bit order (byte 13 of the TCP header), so `syn|ack` prints that way.
    public static let tcpFlagNames: [(name: String, bit: UInt64)] = [
        ("fin", 0x01), ("syn", 0x02), ("rst", 0x04), ("psh", 0x08),
        ("ack", 0x10), ("urg", 0x20), ("ece", 0x40), ("cwr", 0x80),
    ]

    /// Names of enumerated values (size class, port bands, direction), index = value.
    public var enumNames: [String] {
        switch self {
        case .sizeClass: return SizeClass.allCases.map(\.description)
        case .srcPortBand, .dstPortBand: return PortBand.allCases.map(\.description)
        case .direction: return ["inbound", "outbound"]
        default: return []
        }
    }

    /// Every symbol the parser accepts for this field (for "did you mean" hints).
    public var symbolNames: [String] {
        switch self {
        case .proto: return Self.protocolNames.map(\.name)
        case .tcpFlags: return Self.tcpFlagNames.map(\.name)
        default: return enumNames
        }
    }

    /// A short phrase describing what a value of this field looks like, for error messages.
    var valueHint: String {
        switch self {
        case .proto: return "a protocol for proto (a number or tcp, udp, icmp, …)"
        case .tcpFlags: return "flags for tcp_flags (a number or names like syn|ack)"
        case .srcIP, .dstIP: return "an IPv4 address or a number for \(rawValue)"
        case .sizeClass, .srcPortBand, .dstPortBand, .direction:
            return "a value for \(rawValue) (\(enumNames.joined(separator: ", ")) or a number)"
        default: return "a number 0…\(maxValue) for \(rawValue)"
        }
    }

    /// The canonical text of a value. `symbolic` is false in ranges for fields whose order
    /// is not meaningful by name (protocols, flags), where a number reads better.
    public func format(_ value: UInt64, symbolic: Bool = true) -> String {
        switch self {
        case .proto where symbolic:
            if let n = Self.protocolNames.first(where: { $0.number == value }) { return n.name }
        case .tcpFlags where symbolic:
            if value != 0 && value <= 0xFF {
                return Self.tcpFlagNames.filter { value & $0.bit != 0 }.map(\.name).joined(separator: "|")
            }
        case .srcIP, .dstIP:
            if value <= 0xFFFF_FFFF { return IPAddress.v4(UInt32(value)).description }
        case .sizeClass, .srcPortBand, .dstPortBand, .direction:
            let names = enumNames
            if value < UInt64(names.count) { return names[Int(value)] }
        default: break
        }
        return String(value)
    }

    /// Reads a value: a decimal or `0x` hexadecimal number, a symbol of this field, for
    /// `tcp_flags` names and numbers joined by `|`, for addresses a dotted IPv4 address.
    /// Returns nil for text that is none of these or exceeds ``maxValue``.
    public func parseValue(_ text: some StringProtocol) -> UInt64? {
        let s = String(text)
        var v: UInt64?
        switch self {
        case .proto:
            v = Self.protocolNames.first(where: { $0.name == s })?.number ?? Self.parseNumber(s)
        case .tcpFlags:
            var acc: UInt64 = 0
            for part in s.split(separator: "|", omittingEmptySubsequences: false) {
                if let bit = Self.tcpFlagNames.first(where: { $0.name == part })?.bit {
                    acc |= bit
                } else if let n = Self.parseNumber(String(part)) {
                    acc |= n
                } else {
                    return nil
                }
            }
            v = acc
        case .srcIP, .dstIP:
            if s.utf8.contains(UInt8(ascii: ".")), case .v4(let a)? = IPAddress(s) { v = UInt64(a) } else { v = Self.parseNumber(s) }
        case .sizeClass, .srcPortBand, .dstPortBand, .direction:
            v = enumNames.firstIndex(of: s).map(UInt64.init) ?? Self.parseNumber(s)
        default:
            v = Self.parseNumber(s)
        }
        guard let v, v <= maxValue else { return nil }
        return v
    }

    /// Decimal or `0x`-prefixed hexadecimal, no sign.
    static func parseNumber(_ s: String) -> UInt64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") {
            let digits = s.dropFirst(2)
            guard !digits.isEmpty, digits.allSatisfy(\.isHexDigit) else { return nil }
            return UInt64(digits, radix: 16)
        }
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(s)
    }
}
