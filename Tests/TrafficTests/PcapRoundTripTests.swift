import Foundation
import Packets
import Testing
@testable import Traffic

@Suite struct PcapRoundTripTests {
    @Test(arguments: [Scenario.default, Scenario.mixed, smallScenario(.dnsReflection), smallScenario(.fragmentFlood)])
    func writeAndReadBack(scenario: Scenario) throws {
        // Start in the attack phase where the scenario has a short baseline.
        let skip = scenario.name.hasPrefix("small") ? 3_000 : 0
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("traffic-\(UInt32.random(in: 0...UInt32.max)).pcap").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let limit = skip + 4_000
        let written = try ScenarioPcap.write(scenario, to: path, limit: limit)
        #expect(written == limit)
        let expected = collect(scenario, limit: limit).map(\.features)
        let reader = try CaptureReader(path: path)
        var i = 0
        while let p = try reader.next() {
            let f = try p.features()
            #expect(f == expected[i], "packet \(i)")
            i += 1
        }
        #expect(i == limit)
    }

    @Test func everyKindBuildsConsistentBytes() throws {
        for kind in AttackKind.allCases {
            for p in collect(smallScenario(kind)).suffix(500) {
                let bytes = PacketSynthesis.bytes(for: p.features)
                let parsed = try bytes.withUnsafeBytes { b throws(PacketParseError) in
                    try PacketParser.features(b, timestamp: p.features.timestamp)
                }
                #expect(parsed == p.features, "\(kind)")
                #expect(bytes.count == Int(p.features.wireLength))
            }
        }
    }
}
