import Packets
import Rules

/// One predicate the detector considers for a rule.
struct Candidate: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case equals(UInt64)
        /// IPv4 prefix on src_ip / dst_ip: `value >> (32 - length) == network >> (32 - length)`.
        case prefix(network: UInt32, length: Int)
        /// Inclusive numeric range.
        case range(UInt64, UInt64)
        /// Payload bytes (field `payload_len`, the payload's own field).
        case bytes(PayloadMatch)
        /// One IPv6 address on src_ip / dst_ip (an IPv4 address is `.equals` of its value; an
        /// IPv6 one's field value is a 64-bit fold, which a rule must not print or compare).
        case address(IPAddress)
    }

    /// The rule field itself: its value in a packet is the rule engine's, so a candidate
    /// matches exactly what the rule it becomes will match.
    let field: RuleField
    let kind: Kind

    /// Fields whose exact values are rule material. ip_len only enters through size_class and
    /// ranges; src_ip through prefixes.
    static let equalityFields: [RuleField] = [
        .proto, .dstIP, .srcPort, .dstPort, .tcpFlags, .ttl, .df, .mf, .tcpWindow, .dscp,
        .icmpType, .icmpCode, .sizeClass,
    ]

    @inline(__always)
    func matches(_ f: PacketFeatures) -> Bool {
        switch kind {
        case .equals(let v):
            return field.value(in: f) == v
        case .prefix(let net, let len):
            guard case .v4(let a) = field == .srcIP ? f.srcIP : f.dstIP else { return false }
            let shift = UInt32(32 - len)
            return len == 0 || a >> shift == net >> shift
        case .range(let lo, let hi):
            guard let v = field.value(in: f) else { return false }
            return v >= lo && v <= hi
        case .bytes(let b):
            return b.matches(f)
        case .address(let a):
            return (field == .srcIP ? f.srcIP : f.dstIP) == a
        }
    }

    /// Preference between candidates that match the same packets: exact and narrow first.
    var specificity: Int {
        switch kind {
        case .equals, .bytes, .address: return 3
        case .prefix(_, let len): return len >= 24 ? 2 : 1
        case .range: return 0
        }
    }

    var description: String {
        switch kind {
        case .equals(let v):
            if field.isAddress { return "\(field.rawValue)=\(IPAddress.v4(UInt32(truncatingIfNeeded: v)))" }
            return "\(field.rawValue)=\(v)"
        case .prefix(let net, let len):
            return "\(field.rawValue) in \(IPAddress.v4(net))/\(len)"
        case .range(let lo, let hi):
            return "\(field.rawValue) in \(lo)...\(hi)"
        case .address(let a):
            return "\(field.rawValue)=\(a)"
        case .bytes(let b):
            let text = b.ascii.map { " (\"\($0)\")" } ?? ""
            return "payload[\(b.offset)..<\(b.end)]=\(PayloadMatch.hex(b.value))\(text)"
        }
    }
}

/// Which of a fixed list of packets a predicate (or a conjunction) matches.
struct PacketSet: Equatable {
    var words: [UInt64]
    let count: Int

    init(count: Int, all: Bool) {
        self.count = count
        words = [UInt64](repeating: all ? ~0 : 0, count: (count + 63) / 64)
        if all, count % 64 != 0 { words[words.count - 1] = (1 << UInt64(count % 64)) - 1 }
    }

    init(_ packets: [PacketFeatures], matching c: Candidate) {
        self.init(count: packets.count, all: false)
        for (i, p) in packets.enumerated() where c.matches(p) { words[i >> 6] |= 1 << UInt64(i & 63) }
    }

    var population: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    func intersection(_ o: PacketSet) -> PacketSet {
        var r = self
        for i in words.indices { r.words[i] &= o.words[i] }
        return r
    }

    func subtracting(_ o: PacketSet) -> PacketSet {
        var r = self
        for i in words.indices { r.words[i] &= ~o.words[i] }
        return r
    }

    func contains(_ i: Int) -> Bool { words[i >> 6] >> UInt64(i & 63) & 1 == 1 }
}
