/// Why a packet could not be parsed, and where. Parsers throw this (typed, so no existential box is
/// allocated on the error path) instead of trapping on malformed input.
public struct PacketParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: UInt8, Hashable, Sendable {
        case truncatedEthernet
        case truncatedVLAN
        case truncatedLinuxSLL
        /// The frame carries something other than IPv4/IPv6 (ARP, LLDP, …): not an error in the
        /// capture, but there are no packet features to extract.
        case notIP
        case unsupportedLinkType
        case truncatedIPv4
        case badIPv4Version
        case badIPv4HeaderLength
        /// Total length shorter than the header, or longer than the frame that was not truncated
        /// by the capture.
        case badIPv4TotalLength
        case truncatedIPv6
        case badIPv6Version
        case badIPv6PayloadLength
        case truncatedIPv6Extension
        /// More extension headers than any real packet carries (a parser-exhaustion trick).
        case ipv6ExtensionChainTooLong
        case truncatedTCP
        case badTCPDataOffset
        case truncatedUDP
        case badUDPLength
        case truncatedICMP
        case truncatedDNS
    }

    public let kind: Kind
    /// Byte offset from the start of the frame of the header (or field) that failed.
    public let offset: Int

    @inlinable
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String { "\(kind) at byte \(offset)" }
}
