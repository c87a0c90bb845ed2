/// Opens a pcap or pcapng file, whichever it is, and streams its packets.
public final class CaptureReader {
    public enum Format: String, Sendable {
        case pcap
        case pcapng
    }

    private enum Reader {
        case pcap(PcapReader)
        case pcapng(PcapngReader)
    }

    private let reader: Reader
    public let path: String

    public init(path: String, bufferSize: Int = 1 << 20) throws(CaptureError) {
        self.path = path
        let source = try CaptureSource(path: path, bufferSize: bufferSize)
        guard try source.ensure(4, packetsRead: 0) else {
            throw CaptureError(.notACapture, offset: 0, packetsRead: 0, path: path)
        }
        if source.bytes(4).loadUnaligned(as: UInt32.self) == PcapngReader.BlockType.sectionHeader {
            reader = .pcapng(try PcapngReader(source: source))
        } else {
            reader = .pcap(try PcapReader(source: source))
        }
    }

    public var format: Format {
        switch reader {
        case .pcap: return .pcap
        case .pcapng: return .pcapng
        }
    }

    public var packetsRead: Int {
        switch reader {
        case .pcap(let r): return r.packetsRead
        case .pcapng(let r): return r.packetsRead
        }
    }

    /// The next packet, or nil at a clean end of file; its bytes are valid until the next call.
    @inline(__always)
    public func next() throws(CaptureError) -> CapturedPacket? {
        switch reader {
        case .pcap(let r): return try r.next()
        case .pcapng(let r): return try r.next()
        }
    }

    /// Calls `body` for each packet until the end of the file or the first error.
    public func forEach(_ body: (CapturedPacket) throws -> Void) throws {
        while let p = try next() { try body(p) }
    }
}
