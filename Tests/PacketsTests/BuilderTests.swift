import Testing
@testable import Packets

@Suite struct ChecksumTests {
    @Test func rfc1071Example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d.
        let bytes: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        #expect(bytes.withUnsafeBytes { Checksum.internet($0) } == 0x220D)
        let odd: [UInt8] = [0x00, 0x01, 0xF2]
        #expect(odd.withUnsafeBytes { Checksum.internet($0) } == ~UInt16(0x0001 &+ 0xF200))
    }

    @Test func incrementalMatchesFull() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var words = (0..<10).map { _ in UInt16.random(in: 0...UInt16.max, using: &rng) }
            func full(_ w: [UInt16]) -> UInt16 {
                let bytes = w.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
                return bytes.withUnsafeBytes { Checksum.internet($0) }
            }
            let ck = full(words)
            let i = Int.random(in: 0..<10, using: &rng)
            let new = UInt16.random(in: 0...UInt16.max, using: &rng)
            let patched = Checksum.update(ck, old: words[i], new: new)
            words[i] = new
            let expect = full(words)
            // 0x0000 and 0xFFFF are the same number in ones-complement.
            #expect(patched == expect || (patched == 0xFFFF && expect == 0) || (patched == 0 && expect == 0xFFFF))
        }
    }
}

/// Verifies every checksum of a frame from scratch.
func checksumsValid(_ frame: [UInt8]) throws -> Bool {
    try frame.withUnsafeBytes { b in
        var f = PacketFeatures()
        let l = try PacketParser.parse(b, into: &f)
        if f.ipVersion == 4 {
            let ip = try IPv4Header(b, at: l.l3Offset)
            guard ip.checksumIsValid else { return false }
        }
        guard l.l4Offset >= 0 else { return true }
        let seg = UnsafeRawBufferPointer(rebasing: b[l.l4Offset..<l.end])
        var pseudo: UInt64 = 0
        if f.ipVersion == 4, f.proto != IPProtocol.icmp {
            pseudo = Checksum.pseudoHeaderV4(source: b.be32(l.l3Offset + 12), destination: b.be32(l.l3Offset + 16), proto: f.proto, length: seg.count)
        } else if f.ipVersion == 6 {
            pseudo = Checksum.pseudoHeaderV6(addresses: UnsafeRawBufferPointer(rebasing: b[(l.l3Offset + 8)..<(l.l3Offset + 40)]), proto: f.proto, length: seg.count)
        }
        return Checksum.finish(Checksum.sum(seg, initial: pseudo)) == 0
    }
}

@Suite struct BuilderTests {
    @Test func samplesHaveValidChecksums() throws {
        for (spec, payload) in samplePackets() {
            let frame = PacketBuilder.bytes(spec, payload: payload)
            #expect(frame.count == PacketSpec(ethernet: spec.ethernet, network: spec.network, transport: spec.transport,
                                              payloadLength: payload.isEmpty ? spec.payloadLength : payload.count).frameLength)
            #expect(try checksumsValid(frame))
        }
    }

    @Test func patchingKeepsChecksumsValid() throws {
        for (spec, payload) in samplePackets() where {
            if case .v4 = spec.network { return true } else { return false }
        }() {
            var frame = PacketBuilder.bytes(spec, payload: payload)
            var layout = PacketLayout()
            frame.withUnsafeMutableBytes { b in layout = PacketBuilder.build(spec, payload: nil, into: b)! }
            if !payload.isEmpty { frame = PacketBuilder.bytes(spec, payload: payload) }
            var rng = SystemRandomNumberGenerator()
            for i in 0..<500 {
                let src = UInt32.random(in: 0...UInt32.max, using: &rng)
                let dst = UInt32.random(in: 0...UInt32.max, using: &rng)
                let sp = UInt16(truncatingIfNeeded: i * 7919)
                frame.withUnsafeMutableBytes { b in
                    layout.setIPv4Source(src, in: b)
                    layout.setIPv4Destination(dst, in: b)
                    layout.setSourcePort(sp, in: b)
                    layout.setDestinationPort(UInt16(truncatingIfNeeded: i), in: b)
                    layout.setIPv4Identification(UInt16(truncatingIfNeeded: i * 31), in: b)
                    layout.setIPv4TTL(UInt8(truncatingIfNeeded: i), in: b)
                }
                #expect(try checksumsValid(frame))
                let f = try parse(frame)
                #expect(f.srcIP == .v4(src) && f.dstIP == .v4(dst) && f.ttl == UInt8(truncatingIfNeeded: i))
                if f.hasPorts { #expect(f.srcPort == sp) }
            }
        }
    }

    @Test func bufferTooSmall() {
        let spec = PacketSpec.udp4(source: 1, destination: 2, sourcePort: 3, destinationPort: 4, frameLength: 64)
        var small = [UInt8](repeating: 0, count: 63)
        let layout = small.withUnsafeMutableBytes { PacketBuilder.build(spec, into: $0) }
        #expect(layout == nil)
    }
}
