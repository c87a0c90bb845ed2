import Dataplane
import Foundation
import Packets
import Rules
import Sidecar
import Testing
import Traffic

/// The ids the live loop gives its rules: never one already in the table, and, across the loops
/// of one run (one per interface), never one another loop gave.
@Suite("Sidecar rule ids (no root)", .ownThread)
struct RuleIDTests {
    static let epoch: UInt64 = 1_800_000_000_000_000_000

    static func flood() -> Scenario {
        Scenario(name: "ids", seed: 9, phases: [
            ScenarioPhase(name: "normal", duration: 8, normalRate: 2_000),
            ScenarioPhase(name: "attack", duration: 3, normalRate: 2_000,
                          attack: AttackSpec(kind: .udpFlood, rate: 30_000, victim: IPPrefix("198.51.100.10")!)),
        ])
    }

    static func config(_ ids: RuleIDs? = nil) -> SidecarConfig {
        var c = SidecarConfig()
        c.sampleEvery = 4
        c.detector.warmup = .seconds(5)
        c.hold = .seconds(2)
        c.ruleIDs = ids
        return c
    }

    /// Runs one loop over the flood; its events.
    static func run(_ filter: ReferenceFilter, _ config: SidecarConfig) throws -> [SidecarEvent] {
        let feed = ReferenceLoopTests.Feed(flood(), epoch: epoch)
        filter.onPoll = { feed.slice($0) }
        var events: [SidecarEvent] = []
        try Sidecar(dataplane: filter, config: config).run(until: { feed.done }) { events.append($0) }
        return events
    }

    static func installed(_ events: [SidecarEvent]) -> [Rule] {
        events.compactMap { e -> [Rule]? in if case .installed(_, let r, _) = e { r } else { nil } }.flatMap { $0 }
    }

    /// A rule an operator pinned (no TTL: no longer the loop's, not adopted) keeps its id. A
    /// restarted loop numbered from above the rules it adopted only, so its first incident's
    /// rule took the pinned rule's id, and the table refused it: the attack went unmitigated.
    @Test func theNextIncidentDoesNotTakeAPinnedRulesID() throws {
        let filter = ReferenceFilter(startingAt: Self.epoch)
        let pinned = try RuleFile.parse("(rule (and (= proto tcp) (= dst_port 2323)) (drop) :id 1000000001 :name \"holon-incident-4\")")
        _ = try filter.update { _ in pinned }
        let events = try Self.run(filter, Self.config())
        let refused = events.filter { if case .refused = $0 { true } else { false } }
        #expect(refused.isEmpty, "\(refused.map(\.text))")
        let installed = Self.installed(events)
        #expect(!installed.isEmpty, "the flood's rule went in: \(events.map(\.text))")
        #expect(!installed.contains { $0.id == 1_000_000_001 })
        #expect(filter.rules.contains { $0.id == 1_000_000_001 }, "the pinned rule stays")
    }

    /// Two loops of one run (two interfaces) number their rules from one space: an id names
    /// one rule across the run, as the API, the metrics and the Flowspec announcer take it.
    /// Each loop counted from 1 above the base before: both installed 1000000001.
    @Test func loopsOfOneRunNeverShareAnID() throws {
        let ids = RuleIDs()
        let a = ReferenceFilter(startingAt: Self.epoch), b = ReferenceFilter(startingAt: Self.epoch)
        let first = Self.installed(try Self.run(a, Self.config(ids)))
        let second = Self.installed(try Self.run(b, Self.config(ids)))
        #expect(!first.isEmpty && !second.isEmpty)
        #expect(Set(first.map(\.id)).isDisjoint(with: second.map(\.id)), "\(first.map(\.id)) and \(second.map(\.id))")
    }

    /// With several protected prefixes a rule goes in once per prefix, each copy an id of its
    /// own from the same space (they were `derived × 32 + k`, which a later rule's plain id
    /// could meet).
    @Test func reservedAboveEverySidecarIDInTheTable() throws {
        let ids = RuleIDs()
        let table = try RuleFile.parse("""
            (rule (= dst_port 1) (drop) :id 5)
            (rule (= dst_port 2) (drop) :id 1000000007 :ttl 60s)
            (rule (= dst_port 3) (drop) :id 1000000003)
            """)
        ids.reserve(above: table)
        #expect(ids.next() == 1_000_000_008)
        #expect(ids.next() == 1_000_000_009)
        ids.reserve(above: table)
        #expect(ids.next() == 1_000_000_010, "never handed out twice")
    }
}
