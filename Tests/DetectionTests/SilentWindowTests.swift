import Detection
import Packets
import TestSupport
import Testing
import Traffic

/// The protected traffic stops: the recent window decays to nothing. Left to decay, its lanes
/// went denormal and its cosine with the baseline turned to noise (drift 1.18 after 21 s of
/// silence), which opened an "unknown" incident with 0 sources over a silent link, and the
/// float work on denormals made each tick slow. An empty window is no reading.
@Suite(.ownThread) struct SilentWindowTests {
    @Test func silenceReadsNoDriftAndOpensNothing() throws {
        let s = Scenario(name: "quiet", seed: 11, phases: [ScenarioPhase(name: "normal", duration: 12, normalRate: 2_000)])
        var d = Detector(config: DetectorConfig())
        var events: [DetectorEvent] = []
        var last: UInt64 = 0
        for f in s.stream().map(\.features) {
            d.ingest(f)
            events += d.drainEvents()
            last = f.timestamp
        }
        #expect(d.isWarmedUp)
        // A minute of nothing, as the sidecar advances the clock when no sample comes.
        for k in 1...600 {
            d.advance(to: last + UInt64(k) * 100_000_000)
            events += d.drainEvents()
            #expect(d.lastDrift >= 0 && d.lastDrift <= 1, "tick \(k): drift \(d.lastDrift)")
            if d.lastDrift < 0 || d.lastDrift > 1 { break }
        }
        // Traffic as before comes back: still nothing to report.
        let back = Scenario(name: "back", seed: 12, phases: [ScenarioPhase(name: "normal", duration: 4, normalRate: 2_000)])
        for f in back.stream(epoch: last + 60_500_000_000).map(\.features) {
            d.ingest(f)
            events += d.drainEvents()
        }
        let opened = events.filter { if case .opened = $0 { true } else { false } }
        #expect(opened.isEmpty, "\(opened)")
    }
}
