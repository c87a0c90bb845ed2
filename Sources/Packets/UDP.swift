/// A view of a UDP header, validated: length field ≥ 8 and not past the IP payload.
public struct UDPHeader {
    public static let length = 8
    public let bytes: UnsafeRawBufferPointer
    public let offset: Int

    /// `ipEnd` is where the IP payload ends by its length field (possibly past the captured bytes
    /// when the capture truncated the frame); `end` where the captured bytes end.
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int, end: Int, ipEnd: Int) throws(PacketParseError) {
        guard end - offset >= Self.length else { throw PacketParseError(.truncatedUDP, at: offset) }
        let len = Int(bytes.be16(offset + 4))
        guard len >= Self.length, len <= ipEnd - offset else {
            throw PacketParseError(.badUDPLength, at: offset + 4)
        }
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable public var sourcePort: UInt16 { bytes.be16(offset) }
    @inlinable public var destinationPort: UInt16 { bytes.be16(offset + 2) }
    @inlinable public var length: Int { Int(bytes.be16(offset + 4)) }
    @inlinable public var checksum: UInt16 { bytes.be16(offset + 6) }
}
