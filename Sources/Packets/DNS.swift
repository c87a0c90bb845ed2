/// A view of the 12-byte DNS header (RFC 1035 §4.1.1). Over TCP the message follows a 2-byte
/// length; ``PacketParser/dns(_:_:)`` skips it.
public struct DNSHeader {
    public static let length = 12
    public static let port: UInt16 = 53
    public let bytes: UnsafeRawBufferPointer
    public let offset: Int

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int, end: Int) throws(PacketParseError) {
        guard end - offset >= Self.length else { throw PacketParseError(.truncatedDNS, at: offset) }
        self.bytes = bytes
        self.offset = offset
    }

    public var id: UInt16 { bytes.be16(offset) }
    /// True for a response.
    public var isResponse: Bool { bytes.u8(offset + 2) & 0x80 != 0 }
    public var opcode: UInt8 { (bytes.u8(offset + 2) >> 3) & 0x0F }
    public var authoritative: Bool { bytes.u8(offset + 2) & 0x04 != 0 }
    public var truncated: Bool { bytes.u8(offset + 2) & 0x02 != 0 }
    public var recursionDesired: Bool { bytes.u8(offset + 2) & 0x01 != 0 }
    public var recursionAvailable: Bool { bytes.u8(offset + 3) & 0x80 != 0 }
    public var responseCode: UInt8 { bytes.u8(offset + 3) & 0x0F }
    public var questionCount: UInt16 { bytes.be16(offset + 4) }
    public var answerCount: UInt16 { bytes.be16(offset + 6) }
    public var authorityCount: UInt16 { bytes.be16(offset + 8) }
    public var additionalCount: UInt16 { bytes.be16(offset + 10) }
}
