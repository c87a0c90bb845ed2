import Detection
import Packets
import TestSupport
import Testing
import Traffic

/// Issue 10 §1: a baseline learned from too little says so and keeps learning. The repro was a
/// restart that learned from a burst of stale samples and then, 20 s of packet time later,
/// called itself calibrated and judged an idle link by it.
@Suite(.ownThread) struct WarmupTests {
    func packets(seconds: Double, rate: Double) -> [PacketFeatures] {
        let s = Scenario(name: "w", seed: 3, phases: [ScenarioPhase(name: "normal", duration: seconds, normalRate: rate)])
        return s.stream().map(\.features)
    }

    @Test func aBurstThenAGapIsNotABaseline() {
        var d = Detector(config: DetectorConfig())
        let burst = packets(seconds: 1, rate: 2_000)
        for f in burst { d.ingest(f) }
        var late = burst.last!
        late.timestamp += 20_000_000_000
        d.ingest(late)
        let events = d.drainEvents()
        #expect(!d.isWarmedUp)
        #expect(!events.contains { if case .calibrated = $0 { true } else { false } })
        #expect(events.contains { if case .learning(_, _, let ticks, let needed) = $0 { ticks < needed } else { false } })
    }

    @Test func aTrickleIsNotABaseline() {
        var d = Detector(config: DetectorConfig())
        for f in packets(seconds: 12, rate: 10) { d.ingest(f) }
        let events = d.drainEvents()
        #expect(!d.isWarmedUp)
        #expect(events.contains { if case .learning(let n, let needed, _, _) = $0 { n < needed } else { false } })
    }

    @Test func enoughTrafficCalibratesOnTime() {
        var d = Detector(config: DetectorConfig())
        for f in packets(seconds: 11, rate: 500) { d.ingest(f) }
        #expect(d.isWarmedUp)
    }
}
