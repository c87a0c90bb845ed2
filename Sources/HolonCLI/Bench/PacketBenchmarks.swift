import ArgumentParser
import Foundation
import Packets

struct BenchPackets: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "packets",
        abstract: "Packet parsing, building and pcap reading benchmarks."
    )

    @OptionGroup var options: BenchOptions

    func run() {
        options.run(packetBenchmarks())
    }
}

/// The 64-byte Ethernet/IPv4/UDP frame every packet benchmark uses.
private func udp64Spec() -> PacketSpec {
    PacketSpec.udp4(source: 0x0A00_0001, destination: 0xC000_0207, sourcePort: 40000, destinationPort: 53, frameLength: 64)
}

func packetBenchmarks() -> [Benchmark] {
    // Buffers live for the whole process: benchmarks run once, and freeing them buys nothing.
    let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)
    _ = PacketBuilder.build(udp64Spec(), into: frame)
    let ringSlots = 64
    let ring = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * ringSlots, alignment: 64)
    let template = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)
    let layout = PacketBuilder.build(udp64Spec(), into: template)!

    return [
        Benchmark("parse.features.udp64") { n in
            let bytes = UnsafeRawBufferPointer(frame)
            var f = PacketFeatures()
            var acc = 0
            for i in 0..<n {
                _ = try? PacketParser.parse(bytes, timestamp: UInt64(i), into: &f)
                acc &+= Int(f.srcPort) &+ Int(f.payloadLen)
            }
            blackHole(acc)
        },
        // What a sender does per packet: copy the template into a TX slot, vary source address
        // and port, patch both checksums incrementally.
        Benchmark("build.udp64") { n in
            for i in 0..<n {
                let slot = UnsafeMutableRawBufferPointer(rebasing: ring[((i & (ringSlots - 1)) * 64)..<((i & (ringSlots - 1)) * 64 + 64)])
                slot.baseAddress!.copyMemory(from: template.baseAddress!, byteCount: 64)
                layout.setIPv4Source(0x0A00_0000 | UInt32(truncatingIfNeeded: i & 0xFFFFFF), in: slot)
                layout.setSourcePort(UInt16(truncatingIfNeeded: 1024 &+ i), in: slot)
            }
            blackHole(ring)
        },
        Benchmark("pcap.read.1M") { n in
            let path = millionPacketCapture()
            for _ in 0..<n {
                var count = 0
                var acc = 0
                do {
                    let reader = try CaptureReader(path: path)
                    var f = PacketFeatures()
                    while let p = try reader.next() {
                        if (try? PacketParser.parse(p.bytes, linkType: p.linkType, timestamp: p.timestamp,
                                                    wireLength: p.originalLength, into: &f)) != nil {
                            acc &+= Int(f.dstPort)
                        }
                        count += 1
                    }
                } catch {
                    fatalError("\(error)")
                }
                precondition(count == 1_000_000)
                blackHole(acc)
            }
        },
    ]
}

/// A 1,000,000-packet pcap of 64-byte UDP frames in the temp directory, written once and reused
/// by later runs (its content is deterministic).
private func millionPacketCapture() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("holon-bench-udp64-1M.pcap").path
    let expected = 24 + 1_000_000 * (16 + 64)
    if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size == expected {
        return path
    }
    do {
        let writer = try PcapWriter(path: path, linkType: .ethernet, nanosecondTimestamps: true)
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)
        defer { buf.deallocate() }
        let layout = PacketBuilder.build(udp64Spec(), into: buf)!
        for i in 0..<1_000_000 {
            layout.setIPv4Source(0x0A00_0000 | UInt32(i & 0xFFFF), in: buf)
            layout.setSourcePort(UInt16(truncatingIfNeeded: 1024 + i), in: buf)
            try writer.write(UnsafeRawBufferPointer(buf), timestamp: 1_700_000_000_000_000_000 + UInt64(i) * 1000)
        }
        try writer.close()
    } catch {
        fatalError("cannot write the benchmark capture: \(error)")
    }
    return path
}
