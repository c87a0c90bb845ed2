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
        let slash = text.utf8.firstIndex(of: UInt8(ascii: "/"))
        let first = slash.map { String(text[..<$0]) } ?? text
        guard let a = IPAddress(first) else { return .failure(.address(first)) }
        let maxLen: UInt8 = a.isV4 ? 32 : 128
        guard let slash else { return .success(IPPrefix(a, length: maxLen)) }
        let rest = text[text.index(after: slash)...]
        guard let len = UInt8(rest), len <= maxLen else {
            return .failure(.length(String(rest), maximum: maxLen, offset: first.count + 1))
        }
        return .success(IPPrefix(a, length: len))
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
