import Packets

/// One test on one field. A rule is the AND of its predicates.
///
/// Every predicate is false on a packet that lacks the field (see ``RuleField/value(in:)``).
public enum Predicate: Hashable, Sendable {
    /// `field == value`. On `src_ip`/`dst_ip` the value is `IPAddress.fieldValue` (an IPv4
    /// address as its 32-bit number); an exact IPv6 address is written as a `/128` prefix.
    case equals(RuleField, UInt64)
    /// The packet's address (field `src_ip` or `dst_ip`) lies in `address/length`. The address
    /// family must agree: an IPv4 prefix never matches an IPv6 packet, `0.0.0.0/0` matches every
    /// IPv4 packet and `::/0` every IPv6 one. Host bits set in `address` are ignored.
    case prefix(RuleField, IPAddress, length: UInt8)
    /// `lo ≤ field ≤ hi`, both bounds inclusive.
    case range(RuleField, ClosedRange<UInt64>)
    /// `field & mask == value`. Invariant (checked by ``validate()``): `value & ~mask == 0`.
    case mask(RuleField, mask: UInt64, value: UInt64)
    /// Bytes of the transport payload (``PayloadMatch``).
    case bytes(PayloadMatch)

    /// The header field tested; nil for a byte predicate, which tests the payload.
    public var field: RuleField? {
        switch self {
        case .equals(let f, _), .prefix(let f, _, _), .range(let f, _), .mask(let f, _, _): return f
        case .bytes: return nil
        }
    }

    /// Checks the invariants the text and JSON parsers enforce, so a rule built in code can be
    /// held to the same standard before it reaches a table.
    public func validate() throws(RuleValidationError) {
        switch self {
        case .equals(let f, let v):
            guard v <= f.maxValue else { throw .valueTooLarge(f, v) }
        case .prefix(let f, let a, let len):
            guard f.isAddress else { throw .prefixOnNonAddress(f) }
            let maxLen: UInt8 = a.isV4 ? 32 : 128
            guard len <= maxLen else { throw .prefixLengthTooLong(len, max: maxLen) }
        case .range(let f, let r):
            guard r.upperBound <= f.maxValue else { throw .valueTooLarge(f, r.upperBound) }
        case .mask(let f, let m, let v):
            guard m <= f.maxValue else { throw .valueTooLarge(f, m) }
            guard v & ~m == 0 else { throw .maskValueOutsideMask(mask: m, value: v) }
        case .bytes(let b):
            try b.validate()
        }
    }

    /// The reference semantics, written plainly; ``RuleTable`` compiles the same thing and a
    /// test holds them together. An invalid predicate matches nothing.
    public func matches(_ f: PacketFeatures) -> Bool {
        switch self {
        case .equals(let field, _), .range(let field, _), .mask(let field, _, _):
            guard let x = field.value(in: f) else { return false }
            return matches(value: x)
        case .prefix(let field, let a, let len):
            guard field.isAddress else { return false }
            let addr = field == .srcIP ? f.srcIP : f.dstIP
            switch (a, addr) {
            case (.v4(let p), .v4(let x)):
                guard len <= 32 else { return false }
                let m = Self.v4Mask(len)
                return p & m == x & m
            case (.v6(let ph, let pl), .v6(let xh, let xl)):
                guard len <= 128 else { return false }
                let (mh, ml) = Self.v6Mask(len)
                return ph & mh == xh & mh && pl & ml == xl & ml
            default:
                return false
            }
        case .bytes(let b):
            return b.matches(f)
        }
    }

    /// Like ``matches(_:)`` with the packet's whole payload at hand, so byte predicates past the
    /// features' head are decided as the data plane decides them.
    public func matches(_ f: PacketFeatures, payload: UnsafeRawBufferPointer) -> Bool {
        if case .bytes(let b) = self { return f.hasTransportHeader && Int(f.payloadLen) >= b.end && b.matches(payload: payload) }
        return matches(f)
    }

    /// Whether a value of the predicate's field meets it (prefixes: never, they test addresses).
    public func matches(value x: UInt64) -> Bool {
        switch self {
        case .equals(_, let v): return x == v
        case .range(_, let r): return r.contains(x)
        case .mask(_, let m, let v): return x & m == v
        case .prefix, .bytes: return false
        }
    }

    /// Network mask of an IPv4 prefix length 0…32 (a shift by 32 would trap, hence the case).
    @inlinable
    static func v4Mask(_ len: UInt8) -> UInt32 {
        len == 0 ? 0 : UInt32.max << UInt32(32 - min(len, 32))
    }

    /// Network mask of an IPv6 prefix length 0…128 as (high, low) halves.
    @inlinable
    static func v6Mask(_ len: UInt8) -> (UInt64, UInt64) {
        let l = min(Int(len), 128)
        let hi: UInt64 = l == 0 ? 0 : (l >= 64 ? .max : UInt64.max << UInt64(64 - l))
        let lo: UInt64 = l <= 64 ? 0 : (l == 128 ? .max : UInt64.max << UInt64(128 - l))
        return (hi, lo)
    }
}

/// Why a rule or predicate cannot be enforced as written.
public enum RuleValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    case valueTooLarge(RuleField, UInt64)
    case prefixOnNonAddress(RuleField)
    case prefixLengthTooLong(UInt8, max: UInt8)
    case maskValueOutsideMask(mask: UInt64, value: UInt64)
    case burstTooLarge(UInt64)
    case zeroRate
    case payloadLength(Int)
    case payloadMaskLength(mask: Int, value: Int)
    case payloadOffset(Int)
    case synAuthNeedsSYN
    case flowCheckNeedsEstablished

    public var description: String {
        switch self {
        case .valueTooLarge(let f, let v): return "\(v) exceeds the largest \(f.rawValue), \(f.maxValue)"
        case .prefixOnNonAddress(let f): return "a prefix needs src_ip or dst_ip, not \(f.rawValue)"
        case .prefixLengthTooLong(let l, let m): return "prefix length \(l) exceeds \(m)"
        case .maskValueOutsideMask(let m, let v):
            return "mask value 0x\(String(v, radix: 16)) has bits outside mask 0x\(String(m, radix: 16))"
        case .burstTooLarge(let b): return "burst \(b) exceeds \(TokenBucket.maxBurst)"
        case .zeroRate: return "a rate limit of 0 pps (use drop to drop everything)"
        case .payloadLength(let n): return "a byte predicate compares 1…\(PayloadMatch.maxLength) bytes, not \(n)"
        case .payloadMaskLength(let m, let v): return "a byte mask of \(m) bytes for a value of \(v)"
        case .payloadOffset(let o): return "payload offset \(o) is past \(PayloadMatch.maxOffset)"
        case .synAuthNeedsSYN:
            return "syn-auth needs a rule that matches only connection requests: (= proto tcp) and (= tcp_flags syn)"
        case .flowCheckNeedsEstablished:
            return "flow-check needs a TCP rule that cannot match a connection request: (= proto tcp) and a tcp_flags test requiring ack (or syn clear)"
        }
    }
}
