import Packets
import Testing
@testable import Traffic

@Suite struct AttackTests {
    func attackPackets(_ kind: AttackKind, sources: AttackSources? = nil) -> [PacketFeatures] {
        let all = collect(smallScenario(kind, sources: sources))
        let attack = all.filter(\.isAttack)
        #expect(attack.count == 20_000)
        #expect(attack.allSatisfy { $0.attackKind == kind && $0.phase == 1 })
        #expect(attack.allSatisfy { $0.features.dstIP == .v4(0xC633_640A) })
        return attack.map(\.features)
    }

    @Test func synFlood() {
        let a = attackPackets(.synFlood)
        #expect(a.allSatisfy { $0.isTCP && $0.tcpFlags == 0x02 && $0.tcpWindow == 1024 && $0.ttl == 243 && !$0.df })
        #expect(a.allSatisfy { ($0.dstPort == 80 || $0.dstPort == 443) && $0.payloadLen == 0 && $0.ipLen == 40 })
        #expect(Set(a.map(\.srcIP)).count > 19_900)  // spoofed over all of IPv4
    }

    @Test func ackFlood() {
        let a = attackPackets(.ackFlood)
        #expect(a.allSatisfy { $0.isTCP && $0.tcpFlags == 0x10 && $0.ipID == 54321 && $0.ttl == 239 })
    }

    @Test func udpFloodFromBotnet() {
        let a = attackPackets(.udpFlood, sources: .block("45.83.0.0/16", count: 500))
        let sources = Set(a.map(\.srcIP))
        #expect(sources.count == 500)
        #expect(sources.allSatisfy { if case .v4(let s) = $0 { s >> 16 == 0x2D53 } else { false } })
        #expect(a.allSatisfy { $0.isUDP && $0.payloadLen == 512 && $0.ttl == 52 })
        #expect(Set(a.map(\.dstPort)).count > 10_000)
    }

    @Test func dnsReflection() {
        let a = attackPackets(.dnsReflection)
        // Every packet: UDP from port 53, or a non-first fragment (no ports).
        #expect(a.allSatisfy { $0.isUDP && (($0.hasTransportHeader && $0.srcPort == 53) || (!$0.hasTransportHeader && $0.fragOffset > 0)) })
        let first = a.filter(\.hasTransportHeader)
        let fragments = a.filter { !$0.hasTransportHeader }
        // Responses over 1472 bytes fragment: a 1500-byte first fragment with MF, then the rest.
        #expect(first.allSatisfy { $0.fragOffset == 0 && ($0.mf ? $0.ipLen == 1500 : (1228...1500).contains($0.ipLen)) })
        #expect(first.filter(\.mf).count > first.count * 3 / 4)
        #expect(fragments.count > first.count)
        #expect((1900...2000).contains(Set(a.map(\.srcIP)).count))
        // Reassembled sizes are 1200–4000 bytes of DNS.
        var sizes: [UInt32: Int] = [:]
        for f in a { sizes[f.ipID, default: 0] += Int(f.ipLen) - 20 }
        let complete = a.filter { !$0.mf }.map(\.ipID)
        for id in complete.prefix(500) where sizes[id] != nil {
            #expect((1208...4008).contains(sizes[id]!) || sizes[id]! > 4008)  // ids may collide
        }
        // A reflector keeps its TTL.
        var ttls: [IPAddress: Set<UInt8>] = [:]
        for f in a { ttls[f.srcIP, default: []].insert(f.ttl) }
        #expect(ttls.values.allSatisfy { $0.count == 1 })
    }

    @Test func ntpAmplification() {
        let a = attackPackets(.ntpAmplification)
        #expect(a.allSatisfy { $0.isUDP && $0.srcPort == 123 && $0.ipLen == 468 })
        #expect(Set(a.map(\.srcIP)).count == 2000)
        // Monlist responses: 0xD7, a sequence, XNTPD, request 42.
        #expect(a.allSatisfy { $0.payload[0] == 0xD7 && $0.payload[2] == 3 && $0.payload[3] == 42 })
    }

    @Test func reflectedDNSIsAnAnyResponse() {
        let first = attackPackets(.dnsReflection).filter(\.hasTransportHeader)
        #expect(first.allSatisfy { $0.payload.count == 64 && $0.payload[2] == 0x81 && $0.payload[3] == 0x80 })
        // The question asks for ANY (type 255) about one of a few large zones.
        #expect(first.allSatisfy { f in
            let q = ProtocolHeads.amplifiedNames.first { f.payload.bytes[12...].starts(with: $0) }
            return q.map { f.payload[12 + $0.count] == 0 && f.payload[13 + $0.count] == 255 } == true
        })
    }

    @Test func icmpFlood() {
        let a = attackPackets(.icmpFlood)
        #expect(a.allSatisfy { $0.isICMP && $0.icmpType == 8 && $0.ipLen == 540 && $0.ttl == 57 })
        #expect(zip(a, a.dropFirst()).allSatisfy { $1.ipID == ($0.ipID + 1) & 0xFFFF })
    }

    @Test func fragmentFlood() {
        let a = attackPackets(.fragmentFlood)
        #expect(a.allSatisfy { !$0.hasTransportHeader && $0.fragOffset > 0 && $0.ttl == 250 })
        #expect(a.filter(\.mf).allSatisfy { $0.ipLen == 1500 })
    }

    @Test func overrides() {
        var s = smallScenario(.udpFlood)
        s.phases[1].attack!.ttl = 99
        s.phases[1].attack!.payload = 100
        s.phases[1].attack!.victim = IPPrefix("198.51.100.0/28")!
        let a = collect(s).filter(\.isAttack).map(\.features)
        #expect(a.allSatisfy { $0.ttl == 99 && $0.payloadLen == 100 })
        #expect(Set(a.map(\.dstIP)).count == 16)
    }
}
