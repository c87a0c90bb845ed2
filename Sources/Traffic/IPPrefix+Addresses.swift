import Packets

/// The arithmetic traffic models do on a prefix: its addresses as host-order IPv4 words, picking
/// the n-th one, counting them. Traffic is IPv4 only (scenarios refuse IPv6 blocks when read:
/// ``KeyedDecodingContainer/decodeIPv4Block(forKey:)``), so an IPv6 prefix here is a programming
/// error and stops the process.
extension IPPrefix {
    /// All of IPv4, `0.0.0.0/0`: where spoofed sources are drawn from unless told otherwise.
    public static let allIPv4 = IPPrefix(.v4(0), length: 0)

    /// Parses an IPv4 block, `a.b.c.d/n` or a bare address (a /32), host bits cleared:
    /// `198.51.100.7/24` is `198.51.100.0/24`. nil for anything else, IPv6 included.
    public init?(ipv4Block text: String) {
        guard let p = IPPrefix(text), p.address.isV4 else { return nil }
        self = p.network
    }

    /// The network mask, host order.
    @inlinable
    public var ipv4Mask: UInt32 {
        precondition(address.isV4, "traffic models are IPv4 only, got \(self)")
        return length == 0 ? 0 : UInt32.max << UInt32(32 - length)
    }

    /// The host bits (0 for a /32).
    @inlinable
    public var ipv4HostMask: UInt32 { ~ipv4Mask }

    /// The network address, host bits cleared, host order.
    @inlinable
    public var ipv4Network: UInt32 {
        guard case .v4(let a) = address else { preconditionFailure("traffic models are IPv4 only, got \(self)") }
        return a & ipv4Mask
    }

    /// How many addresses the block holds (2^32 for `0.0.0.0/0`, hence `UInt64`).
    @inlinable
    public var ipv4Count: UInt64 { UInt64(ipv4HostMask) + 1 }

    /// Whether the host-order IPv4 address `a` lies inside.
    @inlinable
    public func contains(ipv4 a: UInt32) -> Bool { a & ipv4Mask == ipv4Network }

    /// The address at `offset` inside the block (wrapping within it).
    @inlinable
    public func ipv4Address(at offset: UInt32) -> UInt32 { ipv4Network | (offset & ipv4HostMask) }
}

extension KeyedDecodingContainer {
    /// An IPv4 block written as text (see ``IPPrefix/init(ipv4Block:)``), with an error at the
    /// field when the text is not one.
    func decodeIPv4Block(forKey key: Key) throws -> IPPrefix {
        let text = try decode(String.self, forKey: key)
        guard let p = IPPrefix(ipv4Block: text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "'\(text)' is not an IPv4 address or CIDR block (e.g. 198.51.100.0/24)")
        }
        return p
    }

    func decodeIPv4BlockIfPresent(forKey key: Key) throws -> IPPrefix? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeIPv4Block(forKey: key)
    }
}
