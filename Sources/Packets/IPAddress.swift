#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, as a value: no heap, hashable, cheap to copy.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Host-order 32-bit value (`10.0.0.1` is `0x0A00_0001`).
    case v4(UInt32)
    /// The 128 bits as two host-order halves, `high` holding the first 8 bytes on the wire.
    case v6(high: UInt64, low: UInt64)

    public static let zero = IPAddress.v4(0)

    public var isV4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// The integer the encoder and the rule engine use for this address. IPv4 is its 32-bit value
    /// (so prefixes are ranges); IPv6 is folded to 64 bits (equality only) and lands far from the
    /// IPv4 range for all but a negligible share of addresses.
    @inlinable
    public var fieldValue: Int {
        switch self {
        case .v4(let a): return Int(a)
        case .v6(let hi, let lo):
            return Int(bitPattern: UInt((hi &* 0x9E37_79B9_7F4A_7C15) ^ lo) | (1 << 40))
        }
    }

    /// Parses dotted IPv4 or any RFC 4291 IPv6 text form.
    public init?(_ text: String) {
        var t = text
        if let a = t.withUTF8({ Self.dotted($0) }) {
            self = .v4(a)
            return
        }
        // inet_pton reads a C string: text past a NUL would be ignored, not refused.
        guard !text.utf8.contains(0) else { return nil }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let (hi, lo) = withUnsafeBytes(of: &v6) { ($0.be64(0), $0.be64(8)) }
        self = .v6(high: hi, low: lo)
    }

    /// Dotted IPv4, read as inet_pton(AF_INET) reads it (four decimal octets of at most 255,
    /// no leading zeros, nothing else), without its call: a 100k-rule state file holds 100k
    /// addresses, and turning each into a C string for inet_pton cost more than reading it.
    public static func dotted(_ text: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var value: UInt32 = 0, octet: UInt32 = 0, octets = 0, sawDigit = false
        for b in text {
            if b >= 0x30 && b <= 0x39 {
                if sawDigit && octet == 0 { return nil }   /* a leading zero */
                octet = octet * 10 + UInt32(b - 0x30)
                if octet > 255 { return nil }
                if !sawDigit {
                    octets += 1
                    if octets > 4 { return nil }
                    sawDigit = true
                }
            } else if b == UInt8(ascii: ".") && sawDigit {
                if octets == 4 { return nil }
                value = value << 8 | octet
                octet = 0
                sawDigit = false
            } else {
                return nil
            }
        }
        guard octets == 4 && sawDigit else { return nil }
        return value << 8 | octet
    }

    /// Builds an address from its wire bytes (4 or 16).
    public init?(bytes: some Collection<UInt8>) {
        let a = Array(bytes)
        switch a.count {
        case 4: self = .v4(a.withUnsafeBytes { $0.be32(0) })
        case 16: self = a.withUnsafeBytes { .v6(high: $0.be64(0), low: $0.be64(8)) }
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .v4(let a):
            // Appended (at most 15 bytes: a string held inline), not interpolated: a large
            // table's state file prints one per rule, and interpolation cost three times as much.
            var s = String(a >> 24)
            for shift in [16, 8, 0] as [UInt32] {
                s += "."
                s += String((a >> shift) & 0xFF)
            }
            return s
        case .v6(let hi, let lo):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) {
                $0.put64(hi, at: 0)
                $0.put64(lo, at: 8)
            }
            var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &out, socklen_t(out.count)) != nil else { return "?" }
            return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let h1, let l1), .v6(let h2, let l2)): return (h1, l1) < (h2, l2)
        }
    }
}

/// A 48-bit Ethernet address in the low bits of a `UInt64`.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value & 0xFFFF_FFFF_FFFF }

    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 6 else { return nil }
        var v: UInt64 = 0
        for p in parts {
            guard p.count <= 2, let b = UInt8(p, radix: 16) else { return nil }
            v = v << 8 | UInt64(b)
        }
        value = v
    }

    public static let broadcast = MACAddress(0xFFFF_FFFF_FFFF)

    public var description: String {
        (0..<6).map { i in
            let b = UInt8(truncatingIfNeeded: value >> UInt64(40 - 8 * i))
            return (b < 16 ? "0" : "") + String(b, radix: 16)
        }.joined(separator: ":")
    }
}
