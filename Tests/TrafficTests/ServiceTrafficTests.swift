import Packets
import Testing
@testable import Traffic

/// QUIC, RTP and DNS to the service host look like those protocols byte for byte.
@Suite struct ServiceTrafficTests {
    static let scenario: Scenario = {
        var s = Scenario(name: "services", seed: 12, phases: [ScenarioPhase(name: "calm", duration: 10, normalRate: 5_000)])
        s.normal = Scenario.withServices
        return s
    }()
    static let packets = collect(scenario).map(\.features)
    static let host = IPAddress.v4(0xC633_640A)
    static let toHost = packets.filter { $0.isUDP && $0.dstIP == host }

    static func be16(_ f: PacketFeatures, _ i: Int) -> UInt16 { UInt16(f.payload[i]) << 8 | UInt16(f.payload[i + 1]) }
    static func be32(_ f: PacketFeatures, _ i: Int) -> UInt32 { UInt32(be16(f, i)) << 16 | UInt32(be16(f, i + 2)) }

    static func isRTPPort(_ p: UInt16) -> Bool { p % 2 == 0 && (16384...32767).contains(p) }

    @Test func sharesAsConfigured() {
        let shares = Self.scenario.normal.normalizedShares
        let n = Double(Self.packets.count)
        let quic = Double(Self.toHost.filter { $0.dstPort == 443 }.count) / n
        let rtp = Double(Self.toHost.filter { Self.isRTPPort($0.srcPort) && Self.isRTPPort($0.dstPort) }.count) / n
        let dns = Double(Self.toHost.filter { $0.dstPort == 53 || $0.srcPort == 53 }.count) / n
        #expect(abs(quic - shares[NormalClass.quic.rawValue]) < 0.01, "\(quic)")
        #expect(abs(rtp - shares[NormalClass.rtp.rawValue]) < 0.01, "\(rtp)")
        #expect(abs(dns - shares[NormalClass.serviceDNS.rawValue]) < 0.01, "\(dns)")
    }

    @Test func quicLongThenShortHeaders() {
        let quic = Self.toHost.filter { $0.dstPort == 443 }
        #expect(quic.allSatisfy { ClientPorts.ephemeral.contains($0.srcPort) && $0.payload.count == min(64, Int($0.payloadLen)) })
        let long = quic.filter { (0xC0...0xCF).contains($0.payload[0]) }
        let short = quic.filter { (0x40...0x7F).contains($0.payload[0]) }
        #expect(long.count + short.count == quic.count)
        #expect(long.count > quic.count / 20 && short.count > quic.count / 2)
        // Version 1, 8-byte connection IDs; a client's first Initial is padded to 1200 bytes.
        #expect(long.allSatisfy { Self.be32($0, 1) == 1 && $0.payload[5] == 8 && $0.payload[14] == 8 })
        #expect(long.filter { $0.payloadLen >= 1200 }.count > long.count / 4)
        // A connection keeps its destination ID in every short header.
        var ids: [String: Set<[UInt8]>] = [:]
        for f in short { ids["\(f.srcIP):\(f.srcPort)", default: []].insert(Array(f.payload.bytes[1...8])) }
        #expect(ids.count > 200 && ids.values.allSatisfy { $0.count == 1 })
        #expect(Set(ids.values.map { $0.first! }).count == ids.count)
    }

    @Test func rtpStreams() {
        let rtp = Self.toHost.filter { Self.isRTPPort($0.srcPort) && Self.isRTPPort($0.dstPort) }
        #expect(rtp.allSatisfy { $0.payload[0] == 0x80 && [0, 8, 111].contains($0.payload[1]) })
        var streams: [String: [PacketFeatures]] = [:]
        for f in rtp { streams["\(f.srcIP):\(f.srcPort)>\(f.dstPort)", default: []].append(f) }
        #expect(streams.count >= 40)
        for (key, s) in streams {
            let ssrcs = Set(s.map { Self.be32($0, 8) }), types = Set(s.map { $0.payload[1] })
            #expect(ssrcs.count == 1 && types.count == 1, "\(key)")
            let step: UInt32 = types.first == 111 ? 960 : 160
            for (a, b) in zip(s, s.dropFirst()) {
                #expect(Self.be16(b, 2) == Self.be16(a, 2) &+ 1 && Self.be32(b, 4) == Self.be32(a, 4) &+ step, "\(key)")
            }
            #expect(types.first == 111 || s.allSatisfy { $0.payloadLen == 172 })
        }
    }

    @Test func dnsBothWays() {
        let queries = Self.toHost.filter { $0.dstPort == 53 }
        let answers = Self.toHost.filter { $0.srcPort == 53 }
        #expect(queries.count > 500 && answers.count > 500)
        #expect(queries.allSatisfy { Self.be16($0, 2) == 0x0100 && Self.be16($0, 4) == 1 && Self.be16($0, 6) == 0 })
        #expect(answers.allSatisfy { Self.be16($0, 2) == 0x8180 && Self.be16($0, 4) == 1 && (1...4).contains(Self.be16($0, 6)) })
        #expect(Set(queries.map { Self.be16($0, 0) }).count > queries.count * 9 / 10)
        // The question names come from a small set.
        let names = Set(queries.map { Array($0.payload.bytes[12...].prefix { $0 != 0 }) })
        #expect(names.count == ProtocolHeads.dnsNames.count)
        // The payload is the message: header, question, answers.
        for q in queries {
            let name = ProtocolHeads.dnsNames.firstIndex { q.payload.bytes[12...].starts(with: $0) }
            #expect(name.map { Int(q.payloadLen) == ProtocolHeads.dnsQueryLength(name: $0) } == true)
        }
    }

    @Test func theOtherClassesCarryTheirProtocols() {
        let dnsToServer = Self.packets.filter { $0.isUDP && $0.dstPort == 53 && $0.dstIP != Self.host }
        #expect(dnsToServer.allSatisfy { Self.be16($0, 2) == 0x0100 && Self.be16($0, 4) == 1 })
        let ntp = Self.packets.filter { $0.isUDP && $0.dstPort == 123 }
        #expect(ntp.allSatisfy { [0x23, 0x24].contains($0.payload[0]) && $0.payload.count == 48 })
        let web = Self.packets.filter { $0.isTCP && $0.payloadLen > 0 }
        #expect(web.filter { $0.dstPort == 443 }.allSatisfy {
            ($0.payload[0] == 0x16 && Self.be16($0, 1) == 0x0301) || ($0.payload[0] == 0x17 && Self.be16($0, 1) == 0x0303)
        })
        let requests = web.filter { $0.dstPort == 80 && $0.tcpFlags == 0x18 && $0.payload.bytes.starts(with: Array("GET ".utf8)) }
        #expect(requests.count > 100)
        let pings = Self.packets.filter(\.isICMP)
        #expect(pings.allSatisfy { $0.payload[0] == 0x61 || $0.payload[20] == 20 })
    }
}

/// Ephemeral ports of the client operating systems (Linux 32768–60999, others 49152–65535).
enum ClientPorts {
    static let ephemeral: ClosedRange<UInt16> = 32768...65535
}
