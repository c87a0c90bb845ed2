import Detection
import Foundation
import Packets
import TestSupport
import Testing
import Traffic

@Suite(.ownThread) struct CaptureAnalysisTests {
    static func tempPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("holon-\(getpid())-\(name)").path
    }

    static let scenario = Scenario(name: "pcap-ntp", seed: 21, phases: [
        ScenarioPhase(name: "baseline", duration: 8, normalRate: 2_000),
        ScenarioPhase(name: "ntp", duration: 1, normalRate: 2_000, attack: AttackSpec(kind: .ntpAmplification, rate: 60_000)),
        ScenarioPhase(name: "after", duration: 2, normalRate: 2_000),
    ])

    @Test func findsTheAttackInACapture() throws {
        let path = Self.tempPath("ntp.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let written = try ScenarioPcap.write(Self.scenario, to: path)
        var config = DetectorConfig()
        config.warmup = .seconds(6)
        let result = try CaptureAnalysis.run(path: path, config: config)
        #expect(result.packets == written && result.unparsable == 0 && result.stoppedBy == nil)
        #expect(result.warmedUp)
        #expect(result.incidents.count == 1)
        let inc = try #require(result.incidents.first)
        let onset = Scenario.defaultEpoch + 8_000_000_000
        #expect(inc.openedAt >= onset && inc.openedAt < onset + 1_000_000_000)
        let text = inc.rules.map { $0.rule().text }
        #expect(text.contains { $0.contains("(= proto udp)") && $0.contains("(= src_port 123)") }, "\(text)")
        #expect(inc.name == "ntp-amplification")
        let pps = try #require(inc.estimatedPps)
        #expect(abs(pps - 60_000) / 60_000 < 0.02, "estimated \(pps)")
    }

    @Test func aTruncatedCaptureKeepsWhatWasRead() throws {
        let path = Self.tempPath("cut.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ScenarioPcap.write(Self.scenario, to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        // Cut inside a record well after the attack.
        try data.prefix(data.count - 1_000).write(to: URL(fileURLWithPath: path))
        var config = DetectorConfig()
        config.warmup = .seconds(6)
        let result = try CaptureAnalysis.run(path: path, config: config)
        #expect(result.stoppedBy != nil)
        #expect(result.incidents.count == 1)
    }

    @Test func aMissingFileIsAClearError() {
        #expect(throws: CaptureError.self) {
            try CaptureAnalysis.run(path: "/nonexistent/x.pcap", config: DetectorConfig())
        }
    }
}
