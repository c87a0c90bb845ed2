/// An address prefix, `10.0.0.0/8` or `2001:db8::/32`: allowlists, protected networks, rule scopes.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var length: UInt8

    public init(_ address: IPAddress, length: UInt8) {
        self.address = address
        self.length = length
    }

    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a host prefix).
    public init?(_ text: String) {
        guard case .success(let p) = Self.parse(text) else { return nil }
        self = p
    }

    /// Why a text is not a prefix: the part that is wrong, for the caller's own error message.
    public enum ParseFailure: Error, Hashable, Sendable {
        /// The text before the `/` (or all of it) is not an address.
        case address(String)
        /// The length after the `/` is not a number within 0…`maximum`; `offset` is where it starts
        /// in the text, in characters.
        case length(String, maximum: UInt8, offset: Int)
    }

    /// The one CIDR parser (the rule language, rule JSON, allowlists, the traffic generator's
    /// blocks all use it): `address[/length]`, the length decimal and at most the family's width.
    public static func parse(_ text: String) -> Result<IPPrefix, ParseFailure> {
        var t = text
        return t.withUTF8 { parse(utf8: $0) }
    }

    /// ``parse(_:)`` from the text's UTF-8 (valid UTF-8: a String's). An IPv4 prefix is read from
    /// the bytes, with no String made (a blocklist's state file holds a million of them).
    public static func parse(utf8 text: UnsafeBufferPointer<UInt8>) -> Result<IPPrefix, ParseFailure> {
        let slash = text.firstIndex(of: UInt8(ascii: "/"))
        let first = UnsafeBufferPointer(rebasing: text[..<(slash ?? text.count)])
        let address: IPAddress?
        if let v4 = IPAddress.dotted(first) { address = .v4(v4) } else { address = IPAddress(String(decoding: first, as: UTF8.self)) }
        guard let a = address else { return .failure(.address(String(decoding: first, as: UTF8.self))) }
        let maxLen: UInt8 = a.isV4 ? 32 : 128
        guard let slash else { return .success(IPPrefix(a, length: maxLen)) }
        let rest = text[(slash + 1)...]
        var len = 0
        for b in rest where len <= maxLen {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { len = .max; break }
            len = len * 10 + Int(b - UInt8(ascii: "0"))
        }
        guard !rest.isEmpty, len <= maxLen else {
            // The address before the slash is ASCII: its characters are its bytes.
            return .failure(.length(String(decoding: UnsafeBufferPointer(rebasing: rest), as: UTF8.self), maximum: maxLen, offset: first.count + 1))
        }
        return .success(IPPrefix(a, length: UInt8(len)))
    }

    /// Whether `a` lies inside (an address of the other family never does).
    public func contains(_ a: IPAddress) -> Bool {
        guard a.isV4 == address.isV4 else { return false }
        return IPPrefix(a, length: length).network.address == network.address
    }

    /// The same prefix with the host bits cleared (`10.1.2.3/8` → `10.0.0.0/8`).
    public var network: IPPrefix {
        switch address {
        case .v4(let p):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - UInt32(length))
            return IPPrefix(.v4(p & mask), length: length)
        case .v6(let ph, let pl):
            let hiLen = min(64, Int(length)), loLen = max(0, Int(length) - 64)
            let mh: UInt64 = hiLen == 0 ? 0 : ~UInt64(0) << UInt64(64 - hiLen)
            let ml: UInt64 = loLen == 0 ? 0 : ~UInt64(0) << UInt64(64 - loLen)
            return IPPrefix(.v6(high: ph & mh, low: pl & ml), length: length)
        }
    }

    /// Whether every address of `other` lies inside this prefix.
    public func covers(_ other: IPPrefix) -> Bool {
        other.length >= length && contains(other.address)
    }

    public var description: String { "\(address)/\(length)" }
}
