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

    private static let protocolUTF8 = protocolNames.map { Array($0.name.utf8) }

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
        var s = String(text)
        return s.withUTF8 { parseValue(utf8: $0) }
    }

    /// ``parseValue(_:)`` from the text's UTF-8 (the rule reader's atoms are bytes of a line).
    func parseValue(utf8 b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var v: UInt64?
        switch self {
        case .proto:
            v = Self.protocolUTF8.firstIndex(where: { $0.sameBytes(as: b) }).map { Self.protocolNames[$0].number } ?? Self.parseNumber(utf8: b)
        case .tcpFlags:
            var acc: UInt64 = 0
            for part in b.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false) {
                if let bit = Self.tcpFlagNames.first(where: { $0.name.utf8.elementsEqual(part) })?.bit {
                    acc |= bit
                } else if let n = Self.parseNumber(utf8: UnsafeBufferPointer(rebasing: part)) {
                    acc |= n
                } else {
                    return nil
                }
            }
            v = acc
        case .srcIP, .dstIP:
            v = b.contains(UInt8(ascii: ".")) ? IPAddress.dotted(b).map(UInt64.init) : Self.parseNumber(utf8: b)
        case .sizeClass, .srcPortBand, .dstPortBand, .direction:
            v = enumNames.firstIndex(where: { $0.utf8.elementsEqual(b) }).map(UInt64.init) ?? Self.parseNumber(utf8: b)
        default:
            v = Self.parseNumber(utf8: b)
        }
        guard let v, v <= maxValue else { return nil }
        return v
    }

    /// Decimal or `0x`-prefixed hexadecimal, no sign.
    static func parseNumber(_ s: String) -> UInt64? {
        var s = s
        return s.withUTF8 { parseNumber(utf8: $0) }
    }

    /// ``parseNumber(_:)`` from UTF-8: nil for anything but digits, or past `UInt64.max`.
    static func parseNumber(utf8 b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var digits = b[...]
        var radix: UInt64 = 10
        if b.count >= 2, b[0] == UInt8(ascii: "0"), b[1] | 0x20 == UInt8(ascii: "x") {
            digits = b[2...]
            radix = 16
        }
        guard !digits.isEmpty else { return nil }
        var n: UInt64 = 0
        for c in digits {
            let d: UInt64
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: d = UInt64(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: d = UInt64(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            let (m, o1) = n.multipliedReportingOverflow(by: radix)
            let (s, o2) = m.addingReportingOverflow(d)
            guard !o1, !o2 else { return nil }
            n = s
        }
        return n
    }
}
