/// Magic numbers of the classic pcap format, as read in host (little-endian) order.
enum PcapMagic {
    static let microseconds: UInt32 = 0xA1B2_C3D4
    static let nanoseconds: UInt32 = 0xA1B2_3C4D
}

/// Streams a classic pcap file (either byte order, µs or ns timestamps) through a fixed buffer.
public final class PcapReader {
    public let path: String
    public let linkType: LinkType
    public let nanosecondTimestamps: Bool
    /// The file is in the other byte order from this machine's.
    public let byteSwapped: Bool
    public let snapLength: UInt32
    public private(set) var packetsRead = 0
    let source: CaptureSource

    public convenience init(path: String, bufferSize: Int = 1 << 20) throws(CaptureError) {
        try self.init(source: CaptureSource(path: path, bufferSize: bufferSize))
    }

    init(source: CaptureSource) throws(CaptureError) {
        self.source = source
        path = source.path
        guard try source.ensure(24, packetsRead: 0) else {
            let kind: CaptureError.Kind = source.available < 4 ? .notACapture : .truncatedFileHeader
            throw CaptureError(kind, offset: UInt64(source.available), packetsRead: 0, path: source.path)
        }
        let h = source.bytes(24)
        let magic = h.loadUnaligned(as: UInt32.self)
        switch magic {
        case PcapMagic.microseconds: (byteSwapped, nanosecondTimestamps) = (false, false)
        case PcapMagic.nanoseconds: (byteSwapped, nanosecondTimestamps) = (false, true)
        case PcapMagic.microseconds.byteSwapped: (byteSwapped, nanosecondTimestamps) = (true, false)
        case PcapMagic.nanoseconds.byteSwapped: (byteSwapped, nanosecondTimestamps) = (true, true)
        default: throw CaptureError(.notACapture, offset: 0, packetsRead: 0, path: source.path)
        }
        snapLength = h.u32(16, swapped: byteSwapped)
        // The upper bits carry FCS information (pcap spec), not the link type.
        linkType = LinkType(rawValue: h.u32(20, swapped: byteSwapped) & 0xFFFF)
        source.consume(24)
    }

    /// The next packet, or nil at a clean end of file. The packet's bytes are valid until the
    /// next call.
    @inline(__always)
    public func next() throws(CaptureError) -> CapturedPacket? {
        let src = source
        guard try src.ensure(16, packetsRead: packetsRead) else {
            if src.available == 0 { return nil }
            throw CaptureError(.truncatedRecord, offset: src.offset, packetsRead: packetsRead, path: path)
        }
        let h = src.bytes(16)
        let swapped = byteSwapped
        let sec = UInt64(h.u32(0, swapped: swapped))
        let frac = UInt64(h.u32(4, swapped: swapped))
        let incl = Int(h.u32(8, swapped: swapped))
        let orig = Int(h.u32(12, swapped: swapped))
        guard incl <= CaptureSource.maximumRecord else {
            throw CaptureError(.badRecordLength, offset: src.offset, packetsRead: packetsRead, path: path)
        }
        guard try src.ensure(16 + incl, packetsRead: packetsRead) else {
            throw CaptureError(.truncatedRecord, offset: src.offset, packetsRead: packetsRead, path: path)
        }
        let bytes = UnsafeRawBufferPointer(rebasing: src.bytes(16 + incl)[16...])
        src.consume(16 + incl)
        packetsRead += 1
        let ts = sec &* 1_000_000_000 &+ (nanosecondTimestamps ? frac : frac &* 1000)
        return CapturedPacket(timestamp: ts, originalLength: max(orig, incl), linkType: linkType,
                              interface: 0, bytes: bytes)
    }
}
