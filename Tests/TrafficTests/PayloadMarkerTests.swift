import Foundation
import Packets
import Testing
@testable import Traffic

/// A small payload-marker scenario: 2 s of normal traffic with QUIC, RTP and DNS to the victim at
/// 2,000 pps, then 1 s of the attack at 20,000 pps.
func smallMarkerScenario(marker: [UInt8]? = nil) -> Scenario {
    var s = smallScenario(.payloadMarker)
    s.normal = Scenario.withServices
    s.phases[1].attack!.marker = marker
    return s
}

/// Whether `needle` occurs anywhere in the head.
func headContains(_ f: PacketFeatures, _ needle: [UInt8]) -> Bool {
    let h = f.payload.bytes
    guard h.count >= needle.count else { return false }
    return (0...(h.count - needle.count)).contains { i in h[i..<(i + needle.count)].elementsEqual(needle) }
}

@Suite struct PayloadMarkerTests {
    static let packets = collect(smallMarkerScenario())
    static let victim = IPAddress.v4(0xC633_640A)

    @Test func theMarkerLeadsEveryAttackPacket() {
        let a = Self.packets.filter(\.isAttack).map(\.features)
        let marker = AttackSpec.defaultMarker
        #expect(a.count == 20_000)
        #expect(a.allSatisfy { $0.payload.count == min(64, Int($0.payloadLen)) && $0.payload.bytes.starts(with: marker) })
        #expect(a.allSatisfy { $0.isUDP && $0.dstIP == Self.victim && (40...1200).contains($0.payloadLen) })
    }

    @Test func everyHeaderIsRandom() {
        let a = Self.packets.filter(\.isAttack).map(\.features)
        #expect(Set(a.map(\.srcIP)).count > 19_900)
        let slash8 = Set(a.compactMap { if case .v4(let s) = $0.srcIP { s >> 24 } else { nil } })
        #expect(slash8.count > 200)
        #expect(Set(a.map(\.srcPort)).count > 15_000 && Set(a.map(\.dstPort)).count > 15_000)
        #expect(Set(a.map(\.ttl)).count > 200 && Set(a.map(\.ipID)).count > 15_000)
        #expect(Set(a.map(\.payloadLen)).count > 1_000)
        // After the marker the bytes differ from packet to packet.
        #expect(Set(a.map { $0.payload.bytes.dropFirst(12).prefix(8) }).count > 19_900)
    }

    @Test func noNormalPacketCarriesTheMarker() {
        let normal = Self.packets.filter { !$0.isAttack }.map(\.features)
        #expect(normal.count == 6_000)
        #expect(!normal.contains { headContains($0, AttackSpec.defaultMarker) })
        // Nor its first four bytes anywhere, which a shorter derived rule could use.
        #expect(!normal.contains { headContains($0, Array(AttackSpec.defaultMarker.prefix(4))) })
    }

    @Test func anotherMarker() {
        let marker: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        let a = collect(smallMarkerScenario(marker: marker)).filter(\.isAttack).map(\.features)
        #expect(a.allSatisfy { $0.payload.bytes.starts(with: marker) })
        #expect(!a.contains { $0.payload.bytes.starts(with: AttackSpec.defaultMarker) })
    }

    @Test func markerInJSON() throws {
        var s = smallMarkerScenario(marker: [0x01, 0xAB, 0xFF])
        s.name = "marker-json"
        let text = s.jsonString
        #expect(text.contains("\"marker\" : \"01abff\""))
        #expect(try Scenario.decode(s.jsonData()) == s)
        func decodeAttack(_ attack: String) -> ScenarioError? {
            let json = #"{"name": "m", "seed": 1, "phases": [{"name": "a", "duration": 1, "normalRate": 1, "attack": \#(attack)}]}"#
            do { _ = try Scenario.decode(Data(json.utf8)); return nil } catch { return error }
        }
        #expect(decodeAttack(#"{"kind": "payload-marker", "rate": 5, "victim": "1.2.3.4", "marker": "abc"}"#)?.path == "phases[0].attack.marker")
        #expect(decodeAttack(#"{"kind": "udp-flood", "rate": 5, "victim": "1.2.3.4", "marker": "ab"}"#)?.path == "phases[0].attack.marker")
        #expect(decodeAttack(#"{"kind": "payload-marker", "rate": 5, "victim": "1.2.3.4", "marker": "abcd", "payload": 1}"#)?.path == "phases[0].attack.payload")
        #expect(decodeAttack(#"{"kind": "payload-marker", "rate": 5, "victim": "1.2.3.4", "payload": 11}"#)?.path == "phases[0].attack.payload")
        #expect(decodeAttack(#"{"kind": "payload-marker", "rate": 5, "victim": "1.2.3.4", "payload": 12}"#) == nil)
        #expect(decodeAttack(#"{"kind": "payload-marker", "rate": 5, "victim": "1.2.3.4", "marker": "ABcd"}"#) == nil)
    }
}
