/// A view of the fixed 40-byte IPv6 header.
public struct IPv6Header {
    public static let length = 40
    public let bytes: UnsafeRawBufferPointer
    public let offset: Int

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int, frameTruncated: Bool = false) throws(PacketParseError) {
        let avail = bytes.count - offset
        guard avail >= Self.length else { throw PacketParseError(.truncatedIPv6, at: offset) }
        guard bytes.u8(offset) >> 4 == 6 else { throw PacketParseError(.badIPv6Version, at: offset) }
        let plen = Int(bytes.be16(offset + 4))
        // Payload length 0 is a jumbogram (RFC 2675); the frame then decides the length.
        guard plen == 0 || Self.length + plen <= avail || frameTruncated else {
            throw PacketParseError(.badIPv6PayloadLength, at: offset + 4)
        }
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.be16(offset) >> 4) }
    @inlinable public var dscp: UInt8 { trafficClass >> 2 }
    @inlinable public var ecn: UInt8 { trafficClass & 3 }
    @inlinable public var flowLabel: UInt32 { bytes.be32(offset) & 0xF_FFFF }
    @inlinable public var payloadLength: Int { Int(bytes.be16(offset + 4)) }
    @inlinable public var nextHeader: UInt8 { bytes.u8(offset + 6) }
    @inlinable public var hopLimit: UInt8 { bytes.u8(offset + 7) }
    @inlinable public var source: IPAddress { .v6(high: bytes.be64(offset + 8), low: bytes.be64(offset + 16)) }
    @inlinable public var destination: IPAddress { .v6(high: bytes.be64(offset + 24), low: bytes.be64(offset + 32)) }

    /// Whether `proto` is an extension header this parser steps over. ESP is not: what follows
    /// it is encrypted.
    @inlinable
    public static func isExtension(_ proto: UInt8) -> Bool {
        switch proto {
        case IPProtocol.hopByHop, IPProtocol.routing, IPProtocol.fragment, IPProtocol.destinationOptions,
             IPProtocol.ah, 135, 139, 140:
            return true
        default:
            return false
        }
    }
}

/// What walking the IPv6 extension-header chain found.
public struct IPv6ExtensionChain: Sendable {
    /// The upper-layer protocol (or ESP / no-next-header / an unknown number).
    public var proto: UInt8
    /// Offset of the upper-layer header.
    public var upperOffset: Int
    public var isFragment = false
    public var moreFragments = false
    /// In 8-byte units.
    public var fragmentOffset: UInt16 = 0
    public var fragmentIdentification: UInt32 = 0

    @inlinable
    init(proto: UInt8, upperOffset: Int) {
        self.proto = proto
        self.upperOffset = upperOffset
    }

    /// Walks the chain that starts with `first` at `offset`, bounded by `end`.
    @inlinable
    public static func walk(_ bytes: UnsafeRawBufferPointer, first: UInt8, at offset: Int, end: Int) throws(PacketParseError) -> IPv6ExtensionChain {
        var chain = IPv6ExtensionChain(proto: first, upperOffset: offset)
        var next = first
        var at = offset
        // A chain longer than this is an attack on the parser, not a packet.
        var budget = 16
        while IPv6Header.isExtension(next) {
            budget -= 1
            guard budget >= 0 else { throw PacketParseError(.ipv6ExtensionChainTooLong, at: at) }
            guard end - at >= 8 else { throw PacketParseError(.truncatedIPv6Extension, at: at) }
            let following = bytes.u8(at)
            let len: Int
            if next == IPProtocol.fragment {
                len = 8
                let fo = bytes.be16(at + 2)
                chain.isFragment = true
                chain.fragmentOffset = fo >> 3
                chain.moreFragments = fo & 1 != 0
                chain.fragmentIdentification = bytes.be32(at + 4)
            } else if next == IPProtocol.ah {
                // AH counts its length in 4-byte units minus 2 (RFC 4302).
                len = (Int(bytes.u8(at + 1)) + 2) &* 4
            } else {
                len = (Int(bytes.u8(at + 1)) + 1) &* 8
            }
            guard end - at >= len else { throw PacketParseError(.truncatedIPv6Extension, at: at) }
            at += len
            next = following
            // Past a non-first fragment the upper header is not here.
            if chain.isFragment && chain.fragmentOffset != 0 { break }
        }
        chain.proto = next
        chain.upperOffset = at
        return chain
    }
}
