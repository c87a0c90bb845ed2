import Dataplane
import Foundation
import Packets
import Rules
import Sidecar
import Testing
import Traffic

/// A restarted loop numbered its incidents from 1 again: the first new incident's rule was
/// named `holon-incident-1` beside an adopted rule of an earlier incident 1, and the two read
/// as one in `holon rules list`, the dashboard and the logs. Incidents now number after those
/// of the rules the table holds.
@Suite("Incident numbers across a restart (no root)", .ownThread)
struct AdoptedIncidentTests {
    @Test func aRestartNumbersIncidentsAfterTheAdoptedRules() throws {
        let epoch: UInt64 = 1_800_000_000_000_000_000
        let s = Scenario(name: "again", seed: 9, phases: [
            ScenarioPhase(name: "normal", duration: 8, normalRate: 2_000),
            ScenarioPhase(name: "attack", duration: 3, normalRate: 2_000,
                          attack: AttackSpec(kind: .udpFlood, rate: 30_000, victim: IPPrefix("198.51.100.10")!)),
        ])
        let filter = ReferenceFilter(startingAt: epoch)
        // An earlier run's rule for its incident 7, still within its TTL.
        let earlier = Rule(id: RuleOwnership.sidecarBase + 3, match: [.equals(.proto, 6), .equals(.dstPort, 22)], action: .drop,
                           priority: 100, ttlSeconds: 600, name: IncidentRuleName.name(incident: 7), createdAt: epoch)
        try filter.update { _ in [earlier] }
        let feed = ReferenceLoopTests.Feed(s, epoch: epoch)
        filter.onPoll = { feed.slice($0) }
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(5)
        var opened: [Int] = [], names: [String] = []
        try Sidecar(dataplane: filter, config: config).run(until: { feed.done }) { e in
            if case .opened(let i) = e { opened.append(i.id) }
            if case .installed(_, let rules, _) = e { names += rules.compactMap(\.name) }
        }
        #expect(opened.first == 8, "\(opened)")
        #expect(!names.isEmpty && !names.contains(IncidentRuleName.name(incident: 7)), "\(names)")
        #expect(IncidentRuleName.incident(of: names.first) == 8)
    }
}
