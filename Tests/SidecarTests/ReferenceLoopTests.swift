import Dataplane
import Detection
import Foundation
import Packets
import Rules
import Sidecar
import TestSupport
import Testing
import Traffic

/// The whole loop without root: the sidecar runs its real `run` over the reference filter,
/// which judges every frame of a scenario with the reference matcher and samples one in N,
/// on the packets' clock — 20 s of traffic in well under that.
@Suite("Sidecar loop on the reference filter (no root)", .ownThread)
struct ReferenceLoopTests {
    final class Feed {
        var stream: ScenarioStream
        var next: LabeledPacket?
        var done = false
        var legitDropped = 0, legit = 0, attackDropped = 0, attack = 0
        /// Legitimate packets dropped while the attack ran (phase 1), and outside it.
        var legitDroppedDuring = 0
        var attackStart: UInt64?
        var legitSample: [String] = []
        var firstAttackDrop: UInt64?
        init(_ s: Scenario, epoch: UInt64) {
            stream = s.stream(epoch: epoch)
            next = stream.next()
        }

        /// Sends the next 20 ms of traffic.
        func slice(_ filter: ReferenceFilter) {
            guard let first = next else { done = true; return }
            let end = max(filter.now(), first.features.timestamp) + 20_000_000
            while let p = next, p.features.timestamp <= end {
                let v = filter.send(PacketSynthesis.bytes(for: p.features), at: p.features.timestamp)
                let dropped = v == .drop || v == .rateLimited
                if p.isAttack {
                    attack += 1
                    if attackStart == nil { attackStart = p.features.timestamp }
                    if dropped {
                        attackDropped += 1
                        if firstAttackDrop == nil { firstAttackDrop = p.features.timestamp }
                    }
                } else {
                    legit += 1
                    if dropped && p.phase == 1 {
                        legitDroppedDuring += 1
                    } else if dropped {
                        legitDropped += 1
                        if legitSample.count < 3 { legitSample.append("\(p.features)") }
                    }
                }
                next = stream.next()
            }
            filter.advance(to: end)
        }
    }

    @Test(arguments: [AttackKind.synFlood, .udpFlood, .dnsReflection, .payloadMarker])
    func learnsDetectsDropsAndRetires(_ kind: AttackKind) throws {
        let epoch: UInt64 = 1_800_000_000_000_000_000
        let s = Scenario(name: "loop", seed: 9, phases: [
            ScenarioPhase(name: "normal", duration: 10, normalRate: 2_000),
            ScenarioPhase(name: "attack", duration: 3, normalRate: 2_000,
                          attack: AttackSpec(kind: kind, rate: 30_000, victim: IPPrefix("198.51.100.10")!)),
            ScenarioPhase(name: "after", duration: 6, normalRate: 2_000),
        ])
        let filter = ReferenceFilter(startingAt: epoch)
        let feed = Feed(s, epoch: epoch)
        filter.onPoll = { feed.slice($0) }
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(5)
        config.hold = .seconds(2)
        let sidecar = Sidecar(dataplane: filter, config: config)
        var events: [SidecarEvent] = []
        try sidecar.run(until: { feed.done }) { events.append($0) }

        #expect(events.contains { if case .calibrated = $0 { true } else { false } })
        let installed = events.compactMap { e -> [Rule]? in if case .installed(_, let r, _) = e { r } else { nil } }.flatMap { $0 }
        #expect(!installed.isEmpty, "a rule for the \(kind.rawValue): \(events.map(\.text))")
        let reaction = (feed.firstAttackDrop ?? .max) &- (feed.attackStart ?? 0)
        #expect(reaction < 500_000_000, "dropping within 0.5 s of the attack's start: \(Double(reaction) / 1e6) ms")
        #expect(Double(feed.attackDropped) >= 0.8 * Double(feed.attack), "\(feed.attackDropped) of \(feed.attack) attack packets dropped")
        #expect(feed.legitDropped == 0, "\(feed.legitDropped) of \(feed.legit) legitimate packets dropped outside the attack by \(installed.map(\.text)); \(feed.legitSample)")
        // During a reflection the rule is a rate limit on DNS responses to the victim's /28,
        // shared by real responses to its neighbours: they compete with the flood for tokens.
        // Issue 14 (authenticate, do not rate-limit) and 17 (scope to the attacked host).
        withKnownIssue("a rate limit shared with real traffic during the attack (issues 14, 17)", isIntermittent: true) {
            #expect(feed.legitDroppedDuring == 0, "\(feed.legitDroppedDuring) legitimate packets dropped during the \(kind.rawValue)")
        } when: { kind == .dnsReflection }
        #expect(events.contains { if case .removed = $0 { true } else { false } }, "retired after the attack")
        #expect(sidecar.ownedRules.isEmpty)
        #expect(filter.rules.isEmpty)
    }

    /// The filter detached under the loop as an attack starts: the incident's rules, refused,
    /// wait for the filter to be back and go in then. A refused change stopped the sidecar (a
    /// change it took for made went into a detached filter's maps before: nothing said so).
    @Test func rulesRefusedWhileTheFilterIsGoneGoInWhenItIsBack() throws {
        let epoch: UInt64 = 1_800_000_000_000_000_000
        let s = Scenario(name: "gone", seed: 9, phases: [
            ScenarioPhase(name: "normal", duration: 10, normalRate: 2_000),
            ScenarioPhase(name: "attack", duration: 4, normalRate: 2_000,
                          attack: AttackSpec(kind: .udpFlood, rate: 30_000, victim: IPPrefix("198.51.100.10")!)),
        ])
        let filter = ReferenceFilter(startingAt: epoch)
        let feed = Feed(s, epoch: epoch)
        let back = epoch + 11_500_000_000
        filter.onPoll = { f in
            f.detached = f.now() >= epoch + 9_500_000_000 && f.now() < back
            feed.slice(f)
        }
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(5)
        let sidecar = Sidecar(dataplane: filter, config: config)
        var installedAt: [UInt64] = [], opened: UInt64?
        try sidecar.run(until: { feed.done }) { e in
            if case .installed = e { installedAt.append(filter.now()) }
            if case .opened = e, opened == nil { opened = filter.now() }
        }
        let o = try #require(opened, "the flood was detected")
        #expect(o < back, "detected while the filter was gone: \(Double(o - epoch) / 1e9) s")
        let first = try #require(installedAt.first, "its rules went in")
        #expect(first >= back && first < back + 500_000_000, "installed \(Double(first - epoch) / 1e9) s in, the filter back at 11.5 s")
        #expect(!sidecar.ownedRules.isEmpty && filter.rules.map(\.id) == sidecar.ownedRules.map(\.id))
    }

    /// Another version's program taking the filter over, and this one's coming back, each said
    /// once on the heartbeat (the root suite does it with a real program on a real link).
    @Test func saysWhenTheFiltersProgramChanges() throws {
        let epoch: UInt64 = 1_800_000_000_000_000_000
        let filter = ReferenceFilter(startingAt: epoch)
        filter.onPoll = { f in
            let t = f.now() &+ 100_000_000
            f.foreignProgram = (t - epoch > 2_000_000_000 && t - epoch < 4_500_000_000) ? "another version's XDP program" : nil
            f.advance(to: t)
        }
        let sidecar = Sidecar(dataplane: filter, config: SidecarConfig())
        var notices: [String] = []
        try sidecar.run(until: { filter.now() - epoch > 7_000_000_000 }) { e in
            if case .notice(let kind, let message) = e, kind.hasPrefix("filter-program") { notices.append(kind + ": " + message) }
        }
        #expect(notices.count == 2, "\(notices)")
        #expect(notices.first?.hasPrefix("filter-program-changed: the filter no longer runs this holon run's program (another version's XDP program)") == true, "\(notices)")
        #expect(notices.last?.hasPrefix("filter-program-restored") == true, "\(notices)")
    }
}
