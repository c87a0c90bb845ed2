#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why reading or writing a capture file stopped, where, and how far it got.
public struct CaptureError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case cannotOpen(errno: Int32)
        case readFailed(errno: Int32)
        case writeFailed(errno: Int32)
        /// The first bytes are neither a pcap nor a pcapng magic number.
        case notACapture
        case truncatedFileHeader
        /// The file ends inside a record or block.
        case truncatedRecord
        /// A record or block length that is impossible or past the reader's memory bound.
        case badRecordLength
        /// A pcapng block that contradicts itself (trailing length, byte-order mark, interface).
        case badBlock
        case closed
    }

    public let kind: Kind
    /// Byte offset in the file of the header, record or block that failed.
    public let offset: UInt64
    /// Packets delivered before the failure.
    public let packetsRead: Int
    public var path: String?

    public init(_ kind: Kind, offset: UInt64, packetsRead: Int, path: String? = nil) {
        self.kind = kind
        self.offset = offset
        self.packetsRead = packetsRead
        self.path = path
    }

    public var reason: String {
        switch kind {
        case .cannotOpen(let e): return "cannot open: \(String(cString: strerror(e)))"
        case .readFailed(let e): return "read failed: \(String(cString: strerror(e)))"
        case .writeFailed(let e): return "write failed: \(String(cString: strerror(e)))"
        case .notACapture: return "not a pcap or pcapng file (bad magic number)"
        case .truncatedFileHeader: return "file header truncated"
        case .truncatedRecord: return "file ends inside a packet record"
        case .badRecordLength: return "impossible record length"
        case .badBlock: return "malformed pcapng block"
        case .closed: return "writer already closed"
        }
    }

    public var description: String {
        if case .cannotOpen = kind { return "\(path ?? "capture"): \(reason)" }
        return "\(path ?? "capture"): \(reason) at byte \(offset) (after \(packetsRead) packets)"
    }
}

/// One packet from a capture. `bytes` points into the reader's buffer and is valid only until
/// the reader's next call.
public struct CapturedPacket {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: UInt64
    public var originalLength: Int
    public var linkType: LinkType
    public var interface: Int
    public var bytes: UnsafeRawBufferPointer

    @inlinable public var capturedLength: Int { bytes.count }
    @inlinable public var isTruncated: Bool { originalLength > bytes.count }

    /// Parses the packet into features.
    @inlinable
    public func features() throws(PacketParseError) -> PacketFeatures {
        try PacketParser.features(bytes, linkType: linkType, timestamp: timestamp, wireLength: originalLength)
    }
}
