/// EtherType values Holon recognises.
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let vlan: UInt16 = 0x8100      // 802.1Q C-tag
    public static let qinq: UInt16 = 0x88A8      // 802.1ad S-tag
    public static let qinqLegacy: UInt16 = 0x9100
    public static let ipv6: UInt16 = 0x86DD
}

/// A view of an Ethernet II header (14 bytes) inside a frame.
public struct EthernetHeader {
    public static let length = 14
    public let bytes: UnsafeRawBufferPointer
    public let offset: Int

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) throws(PacketParseError) {
        guard bytes.count - offset >= Self.length else {
            throw PacketParseError(.truncatedEthernet, at: offset)
        }
        self.bytes = bytes
        self.offset = offset
    }

    public var destination: MACAddress {
        MACAddress(UInt64(bytes.be16(offset)) << 32 | UInt64(bytes.be32(offset + 2)))
    }
    public var source: MACAddress {
        MACAddress(UInt64(bytes.be16(offset + 6)) << 32 | UInt64(bytes.be32(offset + 8)))
    }
    @inlinable public var etherType: UInt16 { bytes.be16(offset + 12) }
}

/// A view of one 802.1Q / 802.1ad tag: the 4 bytes after the tag's TPID, i.e. TCI then the
/// next EtherType. `offset` points at the TCI.
public struct VLANTag {
    public static let length = 4
    public let bytes: UnsafeRawBufferPointer
    public let offset: Int

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(PacketParseError) {
        guard bytes.count - offset >= Self.length else {
            throw PacketParseError(.truncatedVLAN, at: offset)
        }
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable public var tci: UInt16 { bytes.be16(offset) }
    @inlinable public var priority: UInt8 { UInt8(tci >> 13) }
    @inlinable public var dropEligible: Bool { tci & 0x1000 != 0 }
    @inlinable public var id: UInt16 { tci & 0x0FFF }
    @inlinable public var etherType: UInt16 { bytes.be16(offset + 2) }

    @inlinable
    static func isTag(_ etherType: UInt16) -> Bool {
        etherType == EtherType.vlan || etherType == EtherType.qinq || etherType == EtherType.qinqLegacy
    }
}
