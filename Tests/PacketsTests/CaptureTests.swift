import Foundation
import Testing
@testable import Packets

@Suite struct CaptureTests {
    let frames = samplePackets().map { PacketBuilder.bytes($0.spec, payload: $0.payload) }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func pcapRoundTrip(bigEndian: Bool, nanoseconds: Bool) throws {
        let dir = temporaryDirectory()
        let path = dir.appendingPathComponent("t.pcap").path
        try writeCapture(frames, to: path, nanoseconds: nanoseconds, bigEndian: bigEndian)
        let r = try PcapReader(path: path)
        #expect(r.byteSwapped == bigEndian && r.nanosecondTimestamps == nanoseconds && r.linkType == .ethernet)
        let got = try readAll(path)
        #expect(got.map(\.1.bytes) == frames)
        for (i, g) in got.enumerated() {
            let ts: UInt64 = 1_700_000_000_123_456_789 + UInt64(i) * 1_000_001
            #expect(g.1.timestamp == (nanoseconds ? ts : ts / 1000 * 1000))
            #expect(g.0 != nil)
        }
        // Leaves no temporary files behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["t.pcap"])
    }

    @Test func smallBufferStreamsLargeFiles() throws {
        let path = temporaryDirectory().appendingPathComponent("many.pcap").path
        var all: [[UInt8]] = []
        for i in 0..<3000 { all.append(frames[i % frames.count]) }
        try writeCapture(all, to: path)
        // 4 KiB buffer for ~300 KB of records: the reader must refill and wrap many times.
        let got = try readAll(path, bufferSize: 4096)
        #expect(got.count == 3000 && got.map(\.1.bytes) == all)
        let big = [UInt8](repeating: 0xAB, count: 9000)
        let p2 = temporaryDirectory().appendingPathComponent("big.pcap").path
        try writeCapture([frames[0], big, frames[1]], to: p2)
        #expect(try readAll(p2, bufferSize: 4096).map(\.1.bytes) == [frames[0], big, frames[1]])
    }

    @Test func truncatedFileReportsCountAndOffset() throws {
        let path = temporaryDirectory().appendingPathComponent("cut.pcap").path
        try writeCapture(frames, to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let recordStart = 24 + 16 + frames[0].count + 16 + frames[1].count
        for cut in [recordStart + 5, recordStart + 16 + 3] {
            try data.prefix(cut).write(to: URL(fileURLWithPath: path))
            let r = try CaptureReader(path: path)
            var n = 0
            do {
                while try r.next() != nil { n += 1 }
                Issue.record("no error")
            } catch {
                #expect(error.kind == .truncatedRecord && error.packetsRead == 2 && n == 2)
                #expect(error.offset == UInt64(recordStart))
                #expect(error.description.contains("cut.pcap") && error.description.contains("byte \(recordStart)"))
            }
        }
        try data.prefix(10).write(to: URL(fileURLWithPath: path))
        #expect(throws: CaptureError(.truncatedFileHeader, offset: 10, packetsRead: 0, path: path)) { try PcapReader(path: path) }
        try Data("hello world, not a capture".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: CaptureError(.notACapture, offset: 0, packetsRead: 0, path: path)) { try CaptureReader(path: path) }
        #expect(throws: CaptureError.self) { try CaptureReader(path: "/nonexistent/x.pcap") }
    }

    @Test func hugeRecordLengthIsAnError() throws {
        let path = temporaryDirectory().appendingPathComponent("huge.pcap").path
        try writeCapture([frames[0]], to: path)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[24 + 8] = 0xFF; data[24 + 9] = 0xFF; data[24 + 10] = 0xFF; data[24 + 11] = 0x7F
        try data.write(to: URL(fileURLWithPath: path))
        let r = try CaptureReader(path: path)
        #expect(throws: CaptureError(.badRecordLength, offset: 24, packetsRead: 0, path: path)) { _ = try r.next() }
    }

    @Test func rawIPLinkTypes() throws {
        for lt in [LinkType.raw, .ipv4] {
            let path = temporaryDirectory().appendingPathComponent("raw.pcap").path
            let ip = frames.prefix(1).map { Array($0[14...]) }
            try writeCapture(ip, to: path, linkType: lt)
            let got = try readAll(path)
            #expect(got.count == 1 && got[0].1.linkType == lt && got[0].0?.srcPort == 5353)
        }
    }

    @Test func streamsToFileDescriptor() throws {
        let path = temporaryDirectory().appendingPathComponent("fd.pcap").path
        FileManager.default.createFile(atPath: path, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let w = try PcapWriter(fileHandle: h)
        for f in frames { try w.write(f, timestamp: 5) }
        try w.close()
        try h.close()
        #expect(try readAll(path).map(\.1.bytes) == frames)
    }
}

/// Hand-assembled pcapng files.
struct PcapngBuilder {
    var bytes: [UInt8] = []
    var bigEndian = false

    mutating func u16(_ v: UInt16) { bytes += bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { u16(bigEndian ? UInt16(v >> 16) : UInt16(v & 0xFFFF)); u16(bigEndian ? UInt16(v & 0xFFFF) : UInt16(v >> 16)) }

    mutating func block(_ type: UInt32, _ body: (inout PcapngBuilder) -> Void) {
        var inner = PcapngBuilder(bigEndian: bigEndian)
        body(&inner)
        while inner.bytes.count % 4 != 0 { inner.bytes.append(0) }
        let len = UInt32(inner.bytes.count + 12)
        u32(type); u32(len); bytes += inner.bytes; u32(len)
    }

    mutating func section() {
        block(0x0A0D0D0A) { b in b.u32(0x1A2B3C4D); b.u16(1); b.u16(0); b.u32(0xFFFF_FFFF); b.u32(0xFFFF_FFFF) }
    }

    mutating func interface(_ linkType: UInt16, tsresol: UInt8? = nil, snap: UInt32 = 0) {
        block(1) { b in
            b.u16(linkType); b.u16(0); b.u32(snap)
            if let tsresol { b.u16(9); b.u16(1); b.bytes += [tsresol, 0, 0, 0] }
            b.u16(2); b.u16(3); b.bytes += [0x65, 0x74, 0x68, 0]  // if_name "eth"
            b.u16(0); b.u16(0)
        }
    }

    mutating func enhanced(_ iface: UInt32, _ ts: UInt64, _ data: [UInt8]) {
        block(6) { b in
            b.u32(iface); b.u32(UInt32(ts >> 32)); b.u32(UInt32(ts & 0xFFFF_FFFF))
            b.u32(UInt32(data.count)); b.u32(UInt32(data.count)); b.bytes += data
        }
    }
}

@Suite struct PcapngTests {
    let frames = samplePackets().map { PacketBuilder.bytes($0.spec, payload: $0.payload) }

    @Test(arguments: [false, true])
    func interfacesResolutionsAndUnknownBlocks(bigEndian: Bool) throws {
        var b = PcapngBuilder(bigEndian: bigEndian)
        b.section()
        b.interface(1)                        // Ethernet, µs
        b.interface(101, tsresol: 9)          // raw IP, ns
        b.block(0x0BAD_F00D) { $0.bytes += [UInt8](repeating: 7, count: 37) }   // unknown: skipped
        b.enhanced(0, 1_700_000_000_000_001, frames[0])
        b.block(5) { $0.u32(0); $0.u32(0); $0.u32(0) }                         // interface statistics
        b.enhanced(1, 1_700_000_000_000_000_002, Array(frames[5][14...]))
        b.interface(1, tsresol: 0x80 | 20)   // 2^-20 s
        b.enhanced(2, 3 << 20 | 1 << 19, frames[1])
        b.block(3) { $0.u32(UInt32(frames[2].count)); $0.bytes += frames[2] }  // simple packet block
        let path = temporaryDirectory().appendingPathComponent("t.pcapng").path
        try Data(b.bytes).write(to: URL(fileURLWithPath: path))
        let r = try CaptureReader(path: path)
        #expect(r.format == .pcapng)
        let got = try readAll(path)
        #expect(got.count == 4)
        #expect(got[0].1.bytes == frames[0] && got[0].1.timestamp == 1_700_000_000_000_001_000)
        #expect(got[1].1.linkType == .raw && got[1].1.timestamp == 1_700_000_000_000_000_002 && got[1].0?.srcPort == 80)
        #expect(got[2].1.timestamp == 3_500_000_000 && got[2].0?.dstPort == 443)
        #expect(got[3].1.bytes == frames[2] && got[3].0?.icmpType == 8)
    }

    @Test func truncatedBlock() throws {
        var b = PcapngBuilder()
        b.section()
        b.interface(1)
        b.enhanced(0, 1, frames[0])
        let good = b.bytes.count
        b.enhanced(0, 2, frames[1])
        let path = temporaryDirectory().appendingPathComponent("cut.pcapng").path
        try Data(b.bytes.prefix(good + 30)).write(to: URL(fileURLWithPath: path))
        let r = try CaptureReader(path: path)
        #expect(try r.next() != nil)
        #expect(throws: CaptureError(.truncatedRecord, offset: UInt64(good), packetsRead: 1, path: path)) { _ = try r.next() }
    }

    @Test func badInterfaceAndTrailer() throws {
        var b = PcapngBuilder()
        b.section()
        b.enhanced(3, 1, frames[0])  // no such interface
        let path = temporaryDirectory().appendingPathComponent("bad.pcapng").path
        try Data(b.bytes).write(to: URL(fileURLWithPath: path))
        let r = try CaptureReader(path: path)
        #expect(throws: CaptureError.self) { _ = try r.next() }
        var c = PcapngBuilder()
        c.section()
        c.bytes[c.bytes.count - 1] = 0x7F  // trailing length disagrees
        try Data(c.bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: CaptureError.self) { _ = try CaptureReader(path: path).next() }
    }
}
