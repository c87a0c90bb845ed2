import Dataplane
import Foundation
import Packets
import Rules
import Sidecar
import TestSupport
import Testing
import Traffic

/// /run full (or read-only) when an attack comes: the rule state cannot be written, so the
/// incident's rule cannot go in. `holon run` ended there — the attack unanswered and nothing
/// protecting the host any more. The loop now says so, keeps detecting, and installs the rule
/// as soon as the state can be written again.
@Suite("Sidecar loop with an unwritable rule state (no root)", .ownThread)
struct StateUnwritableTests {
    @Test func theLoopWaitsForTheStateAndThenInstalls() throws {
        let epoch: UInt64 = 1_800_000_000_000_000_000
        let s = Scenario(name: "full-run", seed: 9, phases: [
            ScenarioPhase(name: "normal", duration: 10, normalRate: 2_000),
            ScenarioPhase(name: "attack", duration: 8, normalRate: 2_000,
                          attack: AttackSpec(kind: .udpFlood, rate: 30_000, victim: IPPrefix("198.51.100.10")!)),
            ScenarioPhase(name: "after", duration: 6, normalRate: 2_000),
        ])
        let filter = ReferenceFilter(startingAt: epoch)
        filter.stateUnwritable = "writing /run/holon/holon:eth0.rules.journal: No space left on device"
        let feed = ReferenceLoopTests.Feed(s, epoch: epoch)
        // The disk has room again 4 s into the attack.
        let freed = epoch + 14_000_000_000
        var droppedBeforeFreed = 0
        filter.onPoll = { f in
            feed.slice(f)
            if f.now() < freed { droppedBeforeFreed = feed.attackDropped } else { f.stateUnwritable = nil }
        }
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(5)
        config.hold = .seconds(2)
        let sidecar = Sidecar(dataplane: filter, config: config)
        var events: [(at: UInt64, event: SidecarEvent)] = []
        try sidecar.run(until: { feed.done }) { events.append((filter.now(), $0)) }

        func notices(_ kind: String) -> [UInt64] {
            events.compactMap { if case .notice(let k, _) = $0.event, k == kind { $0.at } else { nil } }
        }
        let refused = events.compactMap { if case .refused(_, _, let why) = $0.event { why } else { nil } }
        #expect(refused.count == 1 && refused[0].contains("the rule state cannot be written"), "\(refused)")
        #expect(notices("state-unwritable").count == 1, "said once, not every retry")
        let installed = try #require(events.first { if case .installed = $0.event { true } else { false } }, "the rule went in once it could")
        #expect(installed.at >= freed && installed.at < freed + 2_000_000_000, "within a retry of the state's return")
        #expect(notices("state-writable").count == 1)
        #expect(droppedBeforeFreed == 0, "nothing dropped while no rule could be written")
        #expect(feed.attackDropped > 0, "the attack dropped after")
        #expect(events.contains { if case .removed = $0.event { true } else { false } }, "and retired after it")
    }
}
