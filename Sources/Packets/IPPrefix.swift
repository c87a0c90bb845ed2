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
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let a = IPAddress(String(first)) else { return nil }
        let maxLen: UInt8 = a.isV4 ? 32 : 128
        let len = parts.count == 2 ? UInt8(parts[1]) : maxLen
        guard let len, len <= maxLen else { return nil }
        self.init(a, length: len)
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
