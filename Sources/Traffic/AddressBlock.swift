import Packets

/// An IPv4 CIDR block (`198.51.100.0/24`), written as that text in JSON.
public struct AddressBlock: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Network address, host bits cleared, host order.
    public let network: UInt32
    public let length: Int

    public init(network: UInt32, length: Int) {
        precondition((0...32).contains(length), "prefix length must be 0…32")
        self.length = length
        self.network = network & Self.mask(length)
    }

    /// Parses `a.b.c.d/n` or a bare address (a /32).
    public init?(_ text: String) {
        guard let p = IPPrefix(text), case .v4(let a) = p.address else { return nil }
        self.init(network: a, length: Int(p.length))
    }

    /// The block as the prefix type the rest of Holon uses.
    public var prefix: IPPrefix { IPPrefix(.v4(network), length: UInt8(length)) }

    @inlinable
    static func mask(_ length: Int) -> UInt32 {
        length == 0 ? 0 : UInt32.max << UInt32(32 - length)
    }

    public var mask: UInt32 { Self.mask(length) }
    /// Host bits (0 for a /32).
    public var hostMask: UInt32 { ~mask }
    /// Number of addresses (2^32 is reported as `UInt64`).
    public var size: UInt64 { UInt64(hostMask) + 1 }

    public func contains(_ address: UInt32) -> Bool { address & mask == network }

    /// The address at `offset` inside the block (wrapping within it).
    public func address(at offset: UInt32) -> UInt32 { network | (offset & hostMask) }

    public var description: String { "\(IPAddress.v4(network))/\(length)" }

    public static let everything = AddressBlock(network: 0, length: 0)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let block = AddressBlock(text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "'\(text)' is not an IPv4 address or CIDR block (e.g. 198.51.100.0/24)")
        }
        self = block
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Whether an address is ordinary public unicast space (not private, loopback, link-local,
/// CGN, documentation, multicast or reserved): pools of clients and reflectors are drawn from it.
func isPublicUnicast(_ a: UInt32) -> Bool {
    let o1 = a >> 24, o2 = (a >> 16) & 0xFF
    switch o1 {
    case 0, 10, 127: return false
    case 100 where (64...127).contains(o2): return false
    case 169 where o2 == 254: return false
    case 172 where (16...31).contains(o2): return false
    case 192 where o2 == 168: return false
    case 192 where o2 == 0: return false
    case 198 where o2 == 18 || o2 == 19: return false
    case 198 where o2 == 51 && (a >> 8) & 0xFF == 100: return false
    case 203 where o2 == 0 && (a >> 8) & 0xFF == 113: return false
    case 224...: return false
    default: return (a & 0xFF) != 0 && (a & 0xFF) != 255
    }
}
