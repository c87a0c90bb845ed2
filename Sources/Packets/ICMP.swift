/// A view of an ICMP or ICMPv6 header (type, code, checksum and the 4-byte rest-of-header).
public struct ICMPHeader {
    public static let length = 8
    public let bytes: UnsafeRawBufferPointer
    public let offset: Int

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int, end: Int) throws(PacketParseError) {
        guard end - offset >= Self.length else { throw PacketParseError(.truncatedICMP, at: offset) }
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable public var type: UInt8 { bytes.u8(offset) }
    @inlinable public var code: UInt8 { bytes.u8(offset + 1) }
    @inlinable public var checksum: UInt16 { bytes.be16(offset + 2) }
    /// Identifier of echo request/reply.
    @inlinable public var identifier: UInt16 { bytes.be16(offset + 4) }
    /// Sequence number of echo request/reply.
    @inlinable public var sequence: UInt16 { bytes.be16(offset + 6) }
}

public enum ICMPType {
    public static let echoReply: UInt8 = 0
    public static let destinationUnreachable: UInt8 = 3
    public static let echoRequest: UInt8 = 8
    public static let timeExceeded: UInt8 = 11
}

public enum ICMPv6Type {
    public static let destinationUnreachable: UInt8 = 1
    public static let packetTooBig: UInt8 = 2
    public static let echoRequest: UInt8 = 128
    public static let echoReply: UInt8 = 129
    public static let neighborSolicitation: UInt8 = 135
    public static let neighborAdvertisement: UInt8 = 136
}
