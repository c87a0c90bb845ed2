/// TCP flag bits as in byte 13 of the header.
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)

    public var description: String {
        let names: [(TCPFlags, String)] = [(.fin, "F"), (.syn, "S"), (.rst, "R"), (.psh, "P"),
                                           (.ack, "A"), (.urg, "U"), (.ece, "E"), (.cwr, "C")]
        let s = names.filter { contains($0.0) }.map(\.1).joined()
        return s.isEmpty ? "." : s
    }
}

/// A view of a TCP header, validated: data offset ≥ 5 and the whole header (options included)
/// captured.
public struct TCPHeader {
    public static let minimumLength = 20
    public let bytes: UnsafeRawBufferPointer
    public let offset: Int

    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer, at offset: Int, end: Int) throws(PacketParseError) {
        guard end - offset >= Self.minimumLength else { throw PacketParseError(.truncatedTCP, at: offset) }
        let hl = Int(bytes.u8(offset + 12) >> 4) &* 4
        guard hl >= Self.minimumLength else { throw PacketParseError(.badTCPDataOffset, at: offset + 12) }
        guard end - offset >= hl else { throw PacketParseError(.truncatedTCP, at: offset + Self.minimumLength) }
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable public var sourcePort: UInt16 { bytes.be16(offset) }
    @inlinable public var destinationPort: UInt16 { bytes.be16(offset + 2) }
    @inlinable public var sequence: UInt32 { bytes.be32(offset + 4) }
    @inlinable public var acknowledgment: UInt32 { bytes.be32(offset + 8) }
    @inlinable public var headerLength: Int { Int(bytes.u8(offset + 12) >> 4) &* 4 }
    @inlinable public var flags: TCPFlags { TCPFlags(rawValue: bytes.u8(offset + 13)) }
    @inlinable public var window: UInt16 { bytes.be16(offset + 14) }
    @inlinable public var checksum: UInt16 { bytes.be16(offset + 16) }
    @inlinable public var urgentPointer: UInt16 { bytes.be16(offset + 18) }
}
