import Foundation
import Packets
import Testing
@testable import Traffic

/// The built-in `payload-marker` scenario: its shape, its rates, its bytes on the wire.
@Suite struct PayloadMarkerScenarioTests {
    let scenario = Scenario.named("payload-marker")!

    @Test func phasesAndRates() {
        let p = scenario.phases
        #expect(p.count == 3 && p[0].attack == nil && p[2].attack == nil)
        #expect((20...30).contains(p[0].duration) && p[1].duration == 10)
        let a = try! #require(p[1].attack)
        #expect(a.kind == .payloadMarker && a.victim == scenario.normal.services && a.sources == .spoofed)
        // Counted from the stream: the attack runs at 10× the normal rate, normal traffic is
        // steady across the phases, and about 30 % of it is QUIC, RTP and DNS to the victim.
        var normal = [0, 0, 0], attack = [0, 0, 0], toVictim = 0
        for lp in scenario.stream() {
            if lp.isAttack { attack[lp.phase] += 1; continue }
            normal[lp.phase] += 1
            let f = lp.features
            if f.isUDP && f.dstIP == .v4(a.victim.ipv4Network) { toVictim += 1 }
        }
        let normalRate = p.indices.map { Double(normal[$0]) / p[$0].duration }
        #expect(normalRate.allSatisfy { abs($0 - 5_000) < 1 })
        #expect(attack[0] == 0 && attack[2] == 0)
        #expect(abs(Double(attack[1]) / p[1].duration / normalRate[1] - 10) < 0.01)
        let share = Double(toVictim) / Double(normal.reduce(0, +))
        #expect(share > 0.28 && share < 0.34, "\(share)")
    }

    /// The scenario shortened to a few thousand packets around the attack's start.
    var short: Scenario {
        var s = scenario
        s.phases[0].duration = 0.4
        s.phases[1].duration = 0.1
        s.phases[2].duration = 0.2
        return s
    }

    @Test func pcapRoundTrip() throws {
        let s = short
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("traffic-marker-\(UInt32.random(in: 0...UInt32.max)).pcap").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let written = try ScenarioPcap.write(s, to: path)
        let expected = collect(s)
        #expect(written == expected.count && written == s.totalPackets)
        let reader = try CaptureReader(path: path)
        var i = 0
        while let p = try reader.next() {
            let f = try p.features()
            #expect(f == expected[i].features, "packet \(i)")
            i += 1
        }
        #expect(i == expected.count)
        #expect(expected.contains { $0.isAttack } && expected.contains { !$0.isAttack && $0.features.payload.count > 0 })
    }

    @Test func framesCarryTheHeadThenZeros() throws {
        for lp in collect(short) where lp.features.payloadLen > 64 {
            let frame = PacketSynthesis.bytes(for: lp.features)
            var f = PacketFeatures()
            let layers = try frame.withUnsafeBytes { b throws(PacketParseError) in try PacketParser.parse(b, into: &f) }
            let payload = frame[layers.payloadOffset..<layers.end]
            #expect(Array(payload.prefix(64)) == lp.features.payload.bytes)
            #expect(payload.dropFirst(64).allSatisfy { $0 == 0 })
        }
    }

    @Test func sameSeedSamePackets() {
        #expect(collect(short) == collect(short))
        let other = collect(short.withSeed(77))
        #expect(zip(collect(short), other).filter { $0.features == $1.features }.count < 10)
    }
}
