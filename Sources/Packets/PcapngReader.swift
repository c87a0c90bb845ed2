/// Streams a pcapng file (RFC draft-ietf-opsawg-pcapng): section headers in either byte order,
/// interfaces with their own link type, time resolution and offset, enhanced, simple and
/// obsolete packet blocks. Blocks it does not know are skipped without being buffered.
public final class PcapngReader {
    enum BlockType {
        static let sectionHeader: UInt32 = 0x0A0D_0D0A
        static let interfaceDescription: UInt32 = 1
        static let obsoletePacket: UInt32 = 2
        static let simplePacket: UInt32 = 3
        static let enhancedPacket: UInt32 = 6
        static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
    }

    public struct Interface: Sendable {
        public var linkType: LinkType
        public var snapLength: UInt32
        /// Timestamp units per second (1e6 unless if_tsresol says otherwise).
        public var unitsPerSecond: UInt64 = 1_000_000
        /// if_tsoffset, seconds.
        public var offsetSeconds: Int64 = 0

        func nanoseconds(_ units: UInt64) -> UInt64 {
            let ns: UInt64
            if unitsPerSecond == 1_000_000_000 {
                ns = units
            } else if unitsPerSecond <= 1_000_000_000 && 1_000_000_000 % unitsPerSecond == 0 {
                ns = units &* (1_000_000_000 / unitsPerSecond)
            } else {
                let whole = units / unitsPerSecond
                let rest = units % unitsPerSecond
                let frac = unitsPerSecond.dividingFullWidth(rest.multipliedFullWidth(by: 1_000_000_000)).quotient
                ns = whole &* 1_000_000_000 &+ frac
            }
            return ns &+ UInt64(bitPattern: offsetSeconds &* 1_000_000_000)
        }
    }

    public let path: String
    public private(set) var interfaces: [Interface] = []
    public private(set) var packetsRead = 0
    public private(set) var byteSwapped = false
    let source: CaptureSource

    public convenience init(path: String, bufferSize: Int = 1 << 20) throws(CaptureError) {
        try self.init(source: CaptureSource(path: path, bufferSize: bufferSize))
    }

    init(source: CaptureSource) throws(CaptureError) {
        self.source = source
        path = source.path
        guard try source.ensure(12, packetsRead: 0) else {
            throw CaptureError(source.available < 4 ? .notACapture : .truncatedFileHeader,
                               offset: UInt64(source.available), packetsRead: 0, path: path)
        }
        guard source.bytes(4).loadUnaligned(as: UInt32.self) == BlockType.sectionHeader else {
            throw CaptureError(.notACapture, offset: 0, packetsRead: 0, path: path)
        }
    }

    private func fail(_ kind: CaptureError.Kind, at offset: UInt64) -> CaptureError {
        CaptureError(kind, offset: offset, packetsRead: packetsRead, path: path)
    }

    /// The next packet, or nil at a clean end of file. The packet's bytes are valid until the
    /// next call.
    public func next() throws(CaptureError) -> CapturedPacket? {
        let src = source
        while true {
            let blockStart = src.offset
            guard try src.ensure(8, packetsRead: packetsRead) else {
                if src.available == 0 { return nil }
                throw fail(.truncatedRecord, at: blockStart)
            }
            var head = src.bytes(8)
            let rawType = head.loadUnaligned(as: UInt32.self)
            if rawType == BlockType.sectionHeader {
                // The byte-order mark after the length decides how this section reads.
                guard try src.ensure(12, packetsRead: packetsRead) else { throw fail(.truncatedRecord, at: blockStart) }
                let bom = src.bytes(12).loadUnaligned(fromByteOffset: 8, as: UInt32.self)
                if bom == BlockType.byteOrderMagic { byteSwapped = false }
                else if bom == BlockType.byteOrderMagic.byteSwapped { byteSwapped = true }
                else { throw fail(.badBlock, at: blockStart + 8) }
                interfaces.removeAll(keepingCapacity: true)
                head = src.bytes(8)
            }
            let swapped = byteSwapped
            let type = head.u32(0, swapped: swapped)
            let length = Int(head.u32(4, swapped: swapped))
            guard length >= 12, length % 4 == 0 else { throw fail(.badRecordLength, at: blockStart + 4) }
            let interesting = type == BlockType.sectionHeader || type == BlockType.interfaceDescription
                || type == BlockType.enhancedPacket || type == BlockType.simplePacket || type == BlockType.obsoletePacket
            if !interesting {
                guard try src.skip(length, packetsRead: packetsRead) else { throw fail(.truncatedRecord, at: blockStart) }
                continue
            }
            guard length <= CaptureSource.maximumRecord else { throw fail(.badRecordLength, at: blockStart + 4) }
            guard try src.ensure(length, packetsRead: packetsRead) else { throw fail(.truncatedRecord, at: blockStart) }
            let block = src.bytes(length)
            guard block.u32(length - 4, swapped: swapped) == UInt32(length) else {
                throw fail(.badBlock, at: blockStart + UInt64(length) - 4)
            }
            let body = UnsafeRawBufferPointer(rebasing: block[8..<(length - 4)])
            defer { src.consume(length) }
            switch type {
            case BlockType.sectionHeader:
                guard body.count >= 16 else { throw fail(.badBlock, at: blockStart) }
            case BlockType.interfaceDescription:
                guard body.count >= 8 else { throw fail(.badBlock, at: blockStart) }
                var iface = Interface(linkType: LinkType(rawValue: UInt32(body.u16(0, swapped: swapped))),
                                      snapLength: body.u32(4, swapped: swapped))
                readInterfaceOptions(UnsafeRawBufferPointer(rebasing: body[8...]), into: &iface)
                interfaces.append(iface)
            case BlockType.enhancedPacket, BlockType.obsoletePacket:
                guard body.count >= 20 else { throw fail(.badBlock, at: blockStart) }
                let id = type == BlockType.enhancedPacket ? Int(body.u32(0, swapped: swapped)) : Int(body.u16(0, swapped: swapped))
                guard id < interfaces.count else { throw fail(.badBlock, at: blockStart + 8) }
                let units = UInt64(body.u32(4, swapped: swapped)) << 32 | UInt64(body.u32(8, swapped: swapped))
                let cap = Int(body.u32(12, swapped: swapped))
                let orig = Int(body.u32(16, swapped: swapped))
                guard cap <= body.count - 20 else { throw fail(.badRecordLength, at: blockStart + 20) }
                packetsRead += 1
                let iface = interfaces[id]
                return CapturedPacket(timestamp: iface.nanoseconds(units), originalLength: max(orig, cap),
                                      linkType: iface.linkType, interface: id,
                                      bytes: UnsafeRawBufferPointer(rebasing: body[20..<(20 + cap)]))
            case BlockType.simplePacket:
                guard body.count >= 4, let iface = interfaces.first else { throw fail(.badBlock, at: blockStart) }
                let orig = Int(body.u32(0, swapped: swapped))
                var cap = min(orig, body.count - 4)
                if iface.snapLength > 0 { cap = min(cap, Int(iface.snapLength)) }
                packetsRead += 1
                return CapturedPacket(timestamp: 0, originalLength: orig, linkType: iface.linkType, interface: 0,
                                      bytes: UnsafeRawBufferPointer(rebasing: body[4..<(4 + cap)]))
            default:
                break
            }
        }
    }

    private func readInterfaceOptions(_ options: UnsafeRawBufferPointer, into iface: inout Interface) {
        var at = 0
        while options.count - at >= 4 {
            let code = options.u16(at, swapped: byteSwapped)
            let len = Int(options.u16(at + 2, swapped: byteSwapped))
            if code == 0 || options.count - at - 4 < len { return }
            let value = at + 4
            if code == 9 && len >= 1 {
                let r = options.u8(value)
                let exp = Int(r & 0x7F)
                if r & 0x80 != 0 {
                    iface.unitsPerSecond = exp < 64 ? 1 << UInt64(exp) : 1 << 63
                } else {
                    var ups: UInt64 = 1
                    for _ in 0..<min(exp, 19) { ups *= 10 }
                    iface.unitsPerSecond = ups
                }
            } else if code == 14 && len >= 8 {
                let raw = options.loadUnaligned(fromByteOffset: value, as: UInt64.self)
                iface.offsetSeconds = Int64(bitPattern: byteSwapped ? raw.byteSwapped : raw)
            }
            at = value + ((len + 3) & ~3)
        }
    }
}
