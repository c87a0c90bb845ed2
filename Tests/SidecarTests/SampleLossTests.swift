import Dataplane
import Foundation
import Packets
@testable import Sidecar
import Testing
import Traffic

/// The sample ring overflowing (a flood at a low `sample_every`, a loop that reads too slowly)
/// was counted in the heartbeat's `ring_full` only: the detector saw less of the traffic than
/// passed, and its rates came out low, unsaid. A `samples-lost` notice now says so.
@Suite("Samples the ring had no room for (no root)", .ownThread)
struct SampleLossTests {
    let s: UInt64 = 1_000_000_000

    @Test func theFirstLossIsSaidAtOnceThenOnceAMinute() {
        var loss = SampleLoss()
        #expect(loss.note(now: 0, ringFull: 500, sampled: 9_000) == nil, "losses from before the run are not its own")
        #expect(loss.note(now: 1 * s, ringFull: 500, sampled: 10_000) == nil)
        #expect(loss.note(now: 2 * s, ringFull: 600, sampled: 10_900) == SampleLoss.Report(lost: 100, taken: 1_000, seconds: nil))
        #expect(loss.note(now: 3 * s, ringFull: 700, sampled: 11_800) == nil, "quiet for a minute")
        let second = loss.note(now: 62 * s, ringFull: 800, sampled: 13_000)
        #expect(second == SampleLoss.Report(lost: 200, taken: 2_300, seconds: 60))
        #expect(second?.message(sampleEvery: 1).contains("200 of 2300 samples (8.7 %) lost in the last 60 s") == true)
        // A calm minute, then a loss: said at once again.
        #expect(loss.note(now: 123 * s, ringFull: 800, sampled: 14_000) == nil)
        #expect(loss.note(now: 124 * s, ringFull: 810, sampled: 14_090) == SampleLoss.Report(lost: 10, taken: 100, seconds: nil))
        // Counters that went back (a filter attached anew) start over.
        #expect(loss.note(now: 200 * s, ringFull: 5, sampled: 50) == nil)
    }

    @Test func aFloodThatOverflowsTheRingIsSaid() throws {
        let epoch: UInt64 = 1_800_000_000_000_000_000
        let scenario = Scenario(name: "overflow", seed: 3, phases: [
            ScenarioPhase(name: "normal", duration: 6, normalRate: 2_000),
            ScenarioPhase(name: "flood", duration: 2, normalRate: 2_000,
                          attack: AttackSpec(kind: .udpFlood, rate: 40_000, victim: IPPrefix("198.51.100.10")!)),
        ])
        let filter = ReferenceFilter(startingAt: epoch)
        // Room for 200 samples: 20 ms of the normal traffic (40) fits, of the flood (840) does not.
        filter.ringCapacity = 200
        let feed = ReferenceLoopTests.Feed(scenario, epoch: epoch)
        filter.onPoll = { feed.slice($0) }
        var config = SidecarConfig()
        config.sampleEvery = 1
        config.detector.warmup = .seconds(4)
        var said: [(at: UInt64, message: String)] = []
        try Sidecar(dataplane: filter, config: config).run(until: { feed.done }) { e in
            if case .notice("samples-lost", let m) = e { said.append((filter.now() - epoch, m)) }
        }
        #expect(try filter.stats().ringFull > 0)
        #expect(said.count == 1, "once in the flood's 2 s: \(said.map(\.message))")
        #expect(said.first.map { $0.at >= 6 * s } == true, "not before the flood")
        #expect(said.first?.message.contains("raise run.sample_every (now 1 in 1)") == true, "\(said.map(\.message))")
    }
}

/// A `protected` that names another network than the traffic's: every sample was outside it,
/// the loop learned and defended nothing, and its heartbeat said "(learning)" for ever. An
/// `outside-protected` notice now says so, naming where the traffic went.
@Suite("Traffic outside the protected prefixes (no root)", .ownThread)
struct ProtectedCoverageTests {
    let s: UInt64 = 1_000_000_000
    let victim = IPAddress("198.51.100.10")!

    @Test func aMinuteWithNothingInsideIsSaidThenEveryTenMinutes() {
        var c = ProtectedCoverage()
        #expect(c.note(now: 0) == nil)
        for i in 0..<2_000 { c.count(i % 4 == 0 ? IPAddress("198.51.100.11")! : victim, inside: false) }
        #expect(c.note(now: 30 * s) == nil, "a window is a minute")
        let r = c.note(now: 60 * s)
        #expect(r == ProtectedCoverage.Report(samples: 2_000, top: [(victim, 1_500), (IPAddress("198.51.100.11")!, 500)]))
        #expect(r?.message(protected: [IPPrefix("10.77.0.0/24")!]).contains(
            "none of the last 2000 samples went to the protected prefixes (10.77.0.0/24): the loop learns and defends nothing; "
                + "the traffic went to 198.51.100.10 (1500), 198.51.100.11 (500): check protected in the configuration") == true,
                "\(r?.message(protected: [IPPrefix("10.77.0.0/24")!]) ?? "")")
        for _ in 0..<2_000 { c.count(victim, inside: false) }
        #expect(c.note(now: 120 * s) == nil, "quiet for 10 minutes")
        // Some traffic inside (a router protecting one network of several): nothing to say.
        for _ in 0..<2_000 { c.count(victim, inside: false) }
        c.count(IPAddress("10.77.0.2")!, inside: true)
        #expect(c.note(now: 800 * s) == nil)
        // A quiet link neither.
        for _ in 0..<10 { c.count(victim, inside: false) }
        #expect(c.note(now: 900 * s) == nil)
    }

    @Test func theLoopSaysItWhenNothingGoesToTheProtectedPrefixes() throws {
        let epoch: UInt64 = 1_800_000_000_000_000_000
        let scenario = Scenario(name: "elsewhere", seed: 5, phases: [ScenarioPhase(name: "normal", duration: 70, normalRate: 200)])
        let filter = ReferenceFilter(startingAt: epoch)
        let feed = ReferenceLoopTests.Feed(scenario, epoch: epoch)
        filter.onPoll = { feed.slice($0) }
        var config = SidecarConfig()
        config.sampleEvery = 1
        config.protected = [IPPrefix("10.77.0.0/24")!]
        var said: [String] = []
        try Sidecar(dataplane: filter, config: config).run(until: { feed.done }) { e in
            if case .notice("outside-protected", let m) = e { said.append(m) }
        }
        #expect(said.count == 1, "\(said)")
        #expect(said.first?.contains("the traffic went to 198.51.100.") == true, "\(said)")
    }
}
