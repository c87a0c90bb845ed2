import Dataplane
import Foundation
import Packets
import Sidecar
import Testing
import Traffic

/// The protected traffic stops (the generator ends, the link goes quiet at night): the window
/// of recent traffic empties, and its drift is no reading at all. `holon run` opened an
/// incident "(drift 1.0000)" some seconds into every silence, named "unknown" with 0 sources,
/// and kept it open — the dashboard saying "under attack" — until traffic came back.
@Suite("Sidecar over a silent link (no root)", .ownThread)
struct SilenceTests {
    @Test func silenceIsNotAnIncident() throws {
        let epoch: UInt64 = 1_800_000_000_000_000_000
        let s = Scenario(name: "quiet", seed: 9, phases: [ScenarioPhase(name: "normal", duration: 8, normalRate: 2_000)])
        let filter = ReferenceFilter(startingAt: epoch)
        let feed = ReferenceLoopTests.Feed(s, epoch: epoch)
        let end = epoch + 8_000_000_000 + 40_000_000_000
        // After the scenario, 40 s of nothing: the clock moves on, no frame comes.
        filter.onPoll = { f in
            if !feed.done { feed.slice(f) } else { f.advance(to: f.now() + 50_000_000) }
        }
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(5)
        var events: [SidecarEvent] = []
        try Sidecar(dataplane: filter, config: config).run(until: { filter.now() >= end }) { events.append($0) }
        #expect(events.contains { if case .calibrated = $0 { true } else { false } })
        let opened = events.filter { if case .opened = $0 { true } else { false } }
        #expect(opened.isEmpty, "\(opened.map(\.text))")
    }
}
