import Foundation
import Testing
@testable import Packets

@Suite struct CaptureStatisticsTests {
    /// The sample packets, a second UDP packet from the same talker, an ARP frame and a frame cut
    /// inside its IPv4 header: every branch of `add` (IP, non-IP, malformed) is taken.
    @Test func countsProtocolsTalkersPortsAndRate() throws {
        let samples = samplePackets().map { PacketBuilder.bytes($0.spec, payload: $0.payload) }
        let udp = samples[0]
        var arp = [UInt8](repeating: 0, count: 42)
        arp[12] = 0x08; arp[13] = 0x06
        let cut = Array(udp.prefix(20))
        let frames = samples + [udp, arp, cut]
        let path = temporaryDirectory().appendingPathComponent("stats.pcap").path
        try writeCapture(frames, to: path)

        var stats = CaptureStatistics()
        let reader = try CaptureReader(path: path)
        stats.format = reader.format.rawValue
        while let p = try reader.next() { stats.add(p) }
        let s = stats.summary(file: "stats.pcap", top: 1, error: nil)

        #expect(s.packets == frames.count)
        #expect(s.bytes == frames.map(\.count).reduce(0, +) && s.captured_bytes == s.bytes)
        // writeCapture spaces the packets 1_000_001 ns apart.
        let span = UInt64(frames.count - 1) * 1_000_001
        #expect(s.last_ns! - s.first_ns! == span)
        #expect(s.duration_s == Double(span) / 1e9)
        #expect(s.packets_per_s == Double(frames.count) / s.duration_s)
        #expect(s.bits_per_s == Double(s.bytes) * 8 / s.duration_s)
        let protocols = Dictionary(uniqueKeysWithValues: s.protocols.map { ($0.name, $0.packets) })
        #expect(protocols[IPProtocol.name(IPProtocol.udp)] == 2)
        #expect(protocols["non-ip"] == 1 && protocols["malformed"] == 1)
        #expect(s.protocols.map(\.packets).reduce(0, +) == frames.count)
        #expect(s.parse_errors == ["\(PacketParseError.Kind.truncatedIPv4)": 1])
        #expect(s.link_types == [LinkType.ethernet.description: frames.count])
        // `top: 1`: the one talker and port seen most.
        #expect(s.top_sources == [.init(name: "10.0.0.1", packets: 2)])
        #expect(s.top_ports == [.init(name: "\(IPProtocol.name(IPProtocol.udp))/53", packets: 3)])
        #expect(s.error == nil)
    }

    @Test func emptyCaptureHasNoSpanOrRate() {
        let s = CaptureStatistics().summary(file: "x", top: 5, error: nil)
        #expect(s.packets == 0 && s.first_ns == nil && s.last_ns == nil && s.duration_s == 0)
        #expect(s.packets_per_s == nil && s.bits_per_s == nil && s.protocols.isEmpty)
    }

    @Test func stoppedEarlyNamesTheFile() {
        let e = CaptureError(.truncatedRecord, offset: 24, packetsRead: 0)
        let s = CaptureStatistics().summary(file: "f.pcap", top: 5, error: e)
        #expect(s.error?.hasPrefix("f.pcap: ") == true)
    }
}
