import Foundation
import Testing
@testable import Packets

/// Deterministic generator so a failing cross-check can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Varied packets: v4/v6, UDP/TCP/ICMP, VLAN tags, options, flags, DSCP/ECN, fragments.
func variedFrames(_ count: Int, seed: UInt64) -> [[UInt8]] {
    var rng = SplitMix(state: seed)
    var out: [[UInt8]] = []
    for _ in 0..<count {
        let vlans: [UInt16] = [[], [], [UInt16.random(in: 1...4094, using: &rng)],
                               [UInt16.random(in: 1...4094, using: &rng), UInt16.random(in: 1...4094, using: &rng)]].randomElement(using: &rng)!
        let v6 = Bool.random(using: &rng)
        let network: PacketSpec.Network
        if v6 {
            var s = PacketSpec.IPv6(source: .v6(high: 0x2001_0db8_0000_0000 | UInt64.random(in: 0...0xFFFF, using: &rng), low: rng.next()),
                                    destination: .v6(high: 0x2001_0db8_0001_0000, low: rng.next()))
            s.hopLimit = UInt8.random(in: 1...255, using: &rng)
            s.trafficClass = UInt8.random(in: 0...255, using: &rng)
            s.flowLabel = UInt32.random(in: 0...0xFFFFF, using: &rng)
            if Bool.random(using: &rng) { s.extensions = [IPProtocol.hopByHop] }
            network = .v6(s)
        } else {
            var s = PacketSpec.IPv4(source: UInt32.random(in: 0x0100_0000...0xDFFF_FFFF, using: &rng),
                                    destination: UInt32.random(in: 0x0100_0000...0xDFFF_FFFF, using: &rng))
            s.ttl = UInt8.random(in: 1...255, using: &rng)
            s.identification = UInt16.random(in: 0...UInt16.max, using: &rng)
            s.dscp = UInt8.random(in: 0...63, using: &rng)
            s.ecn = UInt8.random(in: 0...3, using: &rng)
            s.dontFragment = Bool.random(using: &rng)
            if UInt8.random(in: 0...3, using: &rng) == 0 { s.options = [1, 1, 1, 0] }  // NOP NOP NOP EOL
            network = .v4(s)
        }
        let transport: PacketSpec.Transport
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: transport = .udp(source: .random(in: 1...65535, using: &rng), destination: .random(in: 1...65535, using: &rng))
        case 1: transport = .tcp(source: .random(in: 1...65535, using: &rng), destination: .random(in: 1...65535, using: &rng),
                                 flags: TCPFlags(rawValue: .random(in: 0...255, using: &rng)), window: .random(in: 0...65535, using: &rng),
                                 sequence: UInt32.random(in: 0...UInt32.max, using: &rng),
                                 urgentPointer: Bool.random(using: &rng) ? 0 : .random(in: 0...65535, using: &rng))
        // Echo only: tools dissect the payload of ICMP errors as the quoted datagram.
        default: transport = .icmp(type: v6 ? [128, 129].randomElement(using: &rng)! : [0, 8].randomElement(using: &rng)!,
                                   code: v6 ? 0 : UInt8.random(in: 0...3, using: &rng), rest: UInt32.random(in: 0...UInt32.max, using: &rng))
        }
        var payload = [UInt8](repeating: 0, count: Int.random(in: 0...300, using: &rng))
        for i in payload.indices { payload[i] = UInt8.random(in: 0...255, using: &rng) }
        // Keep payloads from looking like protocols tshark would dissect further on random ports.
        let spec = PacketSpec(ethernet: .init(vlans: vlans), network: network, transport: transport, payloadLength: payload.count)
        out.append(PacketBuilder.bytes(spec, payload: payload))
    }
    return out
}

@Suite(.serialized) struct ToolCrossCheckTests {
    static let fields = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "udp.srcport", "udp.dstport", "tcp.srcport",
                         "tcp.dstport", "tcp.flags", "ip.ttl", "ipv6.hlim", "ip.flags.df", "ip.flags.mf", "ip.frag_offset",
                         "ip.id", "ip.len", "ipv6.plen", "tcp.window_size_value", "tcp.urgent_pointer", "ip.dsfield.dscp", "ip.dsfield.ecn",
                         "ipv6.tclass.dscp", "ipv6.tclass.ecn", "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
                         "ip.checksum.status", "udp.checksum.status", "tcp.checksum.status", "icmp.checksum.status",
                         "icmpv6.checksum.status", "frame.time_epoch", "frame.len", "vlan.id"]

    /// Runs tshark over `path` and returns one dictionary per packet.
    func tshark(_ path: String) -> [[String: String]]? {
        var args = ["-r", path, "-n", "-T", "fields", "-E", "separator=|", "-E", "occurrence=f",
                    "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                    "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE",
                    "-o", "frame.generate_epoch_time:TRUE", "--disable-heuristic", "rtp_udp"]
        for f in Self.fields { args += ["-e", f] }
        guard let r = run("tshark", args), r.status == 0 else { return nil }
        return r.out.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            let cols = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return Dictionary(uniqueKeysWithValues: zip(Self.fields, cols))
        }
    }

    func int(_ s: String?) -> Int? {
        guard let s, !s.isEmpty else { return nil }
        if s.hasPrefix("0x") { return Int(s.dropFirst(2), radix: 16) }
        if s == "True" { return 1 }
        if s == "False" { return 0 }
        return Int(s)
    }

    func compare(_ f: PacketFeatures, _ t: [String: String], timestamp: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        if f.ipVersion == 4 {
            #expect(t["ip.src"] == f.srcIP.description && t["ip.dst"] == f.dstIP.description, sourceLocation: sourceLocation)
            #expect(int(t["ip.ttl"]) == Int(f.ttl) && int(t["ip.id"]) == Int(f.ipID) && int(t["ip.len"]) == Int(f.ipLen), sourceLocation: sourceLocation)
            #expect(int(t["ip.flags.df"]) == (f.df ? 1 : 0) && int(t["ip.flags.mf"]) == (f.mf ? 1 : 0), sourceLocation: sourceLocation)
            #expect(int(t["ip.frag_offset"]) == Int(f.fragOffset), sourceLocation: sourceLocation)
            #expect(int(t["ip.dsfield.dscp"]) == Int(f.dscp) && int(t["ip.dsfield.ecn"]) == Int(f.ecn), sourceLocation: sourceLocation)
            #expect(t["ip.checksum.status"] == "1", sourceLocation: sourceLocation)
        } else {
            #expect(t["ipv6.src"] == f.srcIP.description && t["ipv6.dst"] == f.dstIP.description, sourceLocation: sourceLocation)
            #expect(int(t["ipv6.hlim"]) == Int(f.ttl) && int(t["ipv6.plen"]).map { $0 + 40 } == Int(f.ipLen), sourceLocation: sourceLocation)
            #expect(int(t["ipv6.tclass.dscp"]) == Int(f.dscp) && int(t["ipv6.tclass.ecn"]) == Int(f.ecn), sourceLocation: sourceLocation)
        }
        #expect(t["frame.time_epoch"].map { $0.replacingOccurrences(of: ".", with: "") }.flatMap { UInt64($0) } == timestamp, sourceLocation: sourceLocation)
        #expect(int(t["frame.len"]) == Int(f.wireLength), sourceLocation: sourceLocation)
        guard f.hasTransportHeader else { return }
        switch f.proto {
        case IPProtocol.udp:
            #expect(int(t["udp.srcport"]) == Int(f.srcPort) && int(t["udp.dstport"]) == Int(f.dstPort), sourceLocation: sourceLocation)
            // A fragment's UDP checksum covers the whole datagram: tshark cannot verify it (2).
            #expect(t["udp.checksum.status"] == (f.mf ? "2" : "1"), sourceLocation: sourceLocation)
        case IPProtocol.tcp:
            #expect(int(t["tcp.srcport"]) == Int(f.srcPort) && int(t["tcp.dstport"]) == Int(f.dstPort), sourceLocation: sourceLocation)
            #expect(int(t["tcp.flags"]).map { $0 & 0xFF } == Int(f.tcpFlags), sourceLocation: sourceLocation)
            #expect(int(t["tcp.window_size_value"]) == Int(f.tcpWindow), sourceLocation: sourceLocation)
            #expect(int(t["tcp.urgent_pointer"]) == Int(f.tcpUrgentPtr), sourceLocation: sourceLocation)
            #expect(t["tcp.checksum.status"] == "1", sourceLocation: sourceLocation)
        case IPProtocol.icmp:
            #expect(int(t["icmp.type"]) == Int(f.icmpType) && int(t["icmp.code"]) == Int(f.icmpCode), sourceLocation: sourceLocation)
            #expect(t["icmp.checksum.status"] == "1", sourceLocation: sourceLocation)
        case IPProtocol.icmpv6:
            #expect(int(t["icmpv6.type"]) == Int(f.icmpType) && int(t["icmpv6.code"]) == Int(f.icmpCode), sourceLocation: sourceLocation)
            #expect(t["icmpv6.checksum.status"] == "1", sourceLocation: sourceLocation)
        default:
            break
        }
    }

    @Test func fieldsAndChecksumsAgreeWithTshark() throws {
        var frames = samplePackets().map { PacketBuilder.bytes($0.spec, payload: $0.payload) }
        frames += variedFrames(400, seed: 42)
        // IPv4 fragments, first and later.
        var v4 = PacketSpec.IPv4(source: ip4("10.1.1.1"), destination: ip4("10.2.2.2"))
        v4.moreFragments = true
        v4.identification = 4242
        frames.append(PacketBuilder.bytes(PacketSpec(network: .v4(v4), transport: .udp(source: 1000, destination: 2000), payloadLength: 40)))
        v4.fragmentOffset = 6
        frames.append(PacketBuilder.bytes(PacketSpec(network: .v4(v4), transport: .none(proto: 17), payloadLength: 48)))
        let path = temporaryDirectory().appendingPathComponent("x.pcap").path
        try writeCapture(frames, to: path)
        guard let rows = tshark(path) else {
            Issue.record("tshark is not installed (scripts/setup installs it)")
            return
        }
        let ours = try readAll(path)
        #expect(rows.count == frames.count && ours.count == frames.count)
        for (i, (f, p)) in ours.enumerated() where i < rows.count {
            guard let f else { Issue.record("packet \(i) did not parse: \(p.bytes)"); continue }
            compare(f, rows[i], timestamp: p.timestamp)
            if let vid = int(rows[i]["vlan.id"]) {
                let layers = try p.bytes.withUnsafeBytes { b throws(PacketParseError) in
                    var g = PacketFeatures()
                    return try PacketParser.parse(b, into: &g)
                }
                // tshark names an 802.1ad outer tag differently: vlan.id is then the inner C-tag.
                #expect((layers.vlanCount == 2 ? layers.innerVLAN : layers.outerVLAN) == UInt16(vid))
            }
        }
    }

    /// build → write pcap → tcpdump -vv reads it: same values, no bad checksums.
    @Test(arguments: [false, true])
    func tcpdumpReadsWhatWeWrite(nanoseconds: Bool) throws {
        let frames = samplePackets().map { PacketBuilder.bytes($0.spec, payload: $0.payload) } + variedFrames(200, seed: 7)
        let path = temporaryDirectory().appendingPathComponent("d.pcap").path
        try writeCapture(frames, to: path, nanoseconds: nanoseconds)
        guard let r = run("tcpdump", ["-vv", "-n", "-tt", "-r", path]) else {
            Issue.record("tcpdump is not installed (scripts/setup installs it)")
            return
        }
        #expect(r.status == 0, "\(r.err)")
        let text = r.out
        #expect(!text.contains("bad cksum") && !text.contains("incorrect") && !text.contains("bad udp cksum"))
        // One header line per packet starts with the timestamp; pull ttl/hlim and addresses from it.
        let lines = text.split(separator: "\n").filter { $0.first?.isNumber == true }
        #expect(lines.count == frames.count)
        let ours = try readAll(path)
        for (line, (f, p)) in zip(lines, ours) {
            guard let f else { continue }
            let secs = p.timestamp / 1_000_000_000
            #expect(line.hasPrefix("\(secs)."))
            if f.ipVersion == 4 {
                #expect(line.contains("ttl \(f.ttl),") && line.contains("id \(f.ipID),") && line.contains("length \(f.ipLen)"))
            } else {
                #expect(line.contains("hlim \(f.ttl)"))
            }
        }
        let ports = text.split(separator: "\n").filter { $0.contains(" > ") }
        #expect(ports.count >= frames.count)
        // Every address pair we parsed appears in tcpdump's text.
        for (f, _) in ours {
            guard let f else { continue }
            #expect(text.contains("\(f.srcIP)"))
            if f.hasPorts {
                // IPv6 with extension headers prints the ports apart from the addresses.
                #expect(text.contains("\(f.srcIP).\(f.srcPort) > ") || text.contains(" \(f.srcPort) > \(f.dstPort)"))
            }
        }
    }
}
