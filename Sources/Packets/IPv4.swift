/// IP protocol numbers Holon looks inside.
public enum IPProtocol {
    public static let icmp: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmpv6: UInt8 = 58
    public static let hopByHop: UInt8 = 0
    public static let routing: UInt8 = 43
    public static let fragment: UInt8 = 44
    public static let esp: UInt8 = 50
    public static let ah: UInt8 = 51
    public static let noNext: UInt8 = 59
    public static let destinationOptions: UInt8 = 60

    /// Short lower-case name for display (`udp`, `tcp`, …) or the number.
    public static func name(_ proto: UInt8) -> String {
        switch proto {
        case icmp: return "icmp"
        case tcp: return "tcp"
        case udp: return "udp"
        case icmpv6: return "icmpv6"
        case 2: return "igmp"
        case 47: return "gre"
        case esp: return "esp"
        case ah: return "ah"
        case 132: return "sctp"
        default: return String(proto)
        }
    }
}

/// A view of an IPv4 header, validated: version 4, IHL ≥ 5, options present, total length
/// covers the header.
public struct IPv4Header {
    public static let minimumLength = 20
    public let bytes: UnsafeRawBufferPointer
    public let offset: Int

    /// `frameTruncated` says the capture cut the frame (captured < wire length), so a total
    /// length running past the buffer is expected rather than inconsistent.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int, frameTruncated: Bool = false) throws(PacketParseError) {
        let avail = bytes.count - offset
        guard avail >= Self.minimumLength else { throw PacketParseError(.truncatedIPv4, at: offset) }
        let vihl = bytes.u8(offset)
        guard vihl >> 4 == 4 else { throw PacketParseError(.badIPv4Version, at: offset) }
        let hl = Int(vihl & 0x0F) &* 4
        guard hl >= Self.minimumLength else { throw PacketParseError(.badIPv4HeaderLength, at: offset) }
        guard avail >= hl else { throw PacketParseError(.truncatedIPv4, at: offset + Self.minimumLength) }
        let total = Int(bytes.be16(offset + 2))
        guard total >= hl, total <= avail || frameTruncated else {
            throw PacketParseError(.badIPv4TotalLength, at: offset + 2)
        }
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable public var headerLength: Int { Int(bytes.u8(offset) & 0x0F) &* 4 }
    @inlinable public var dscp: UInt8 { bytes.u8(offset + 1) >> 2 }
    @inlinable public var ecn: UInt8 { bytes.u8(offset + 1) & 3 }
    @inlinable public var totalLength: Int { Int(bytes.be16(offset + 2)) }
    @inlinable public var identification: UInt16 { bytes.be16(offset + 4) }
    @inlinable public var dontFragment: Bool { bytes.u8(offset + 6) & 0x40 != 0 }
    @inlinable public var moreFragments: Bool { bytes.u8(offset + 6) & 0x20 != 0 }
    /// In 8-byte units, as on the wire.
    @inlinable public var fragmentOffset: UInt16 { bytes.be16(offset + 6) & 0x1FFF }
    @inlinable public var ttl: UInt8 { bytes.u8(offset + 8) }
    @inlinable public var proto: UInt8 { bytes.u8(offset + 9) }
    @inlinable public var checksum: UInt16 { bytes.be16(offset + 10) }
    @inlinable public var source: UInt32 { bytes.be32(offset + 12) }
    @inlinable public var destination: UInt32 { bytes.be32(offset + 16) }
    public var options: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[(offset + 20)..<(offset + headerLength)])
    }
    /// True when the header checksum verifies.
    public var checksumIsValid: Bool {
        Checksum.internet(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + headerLength)])) == 0
    }
}
