@testable import Detection
import Packets
import Rules
import TestSupport
import Testing
import Traffic

/// Issue 10 §2: a rule whose dropped traffic comes from the users the baseline saw is a false
/// positive — released, the incident marked, its match not derived again for a while. A flood
/// from sources the baseline never saw is not.
@Suite(.ownThread) struct FalsePositiveTests {
    let scenario = Scenario(name: "fp", seed: 21, phases: [
        ScenarioPhase(name: "baseline", duration: 11, normalRate: 1_000),
        ScenarioPhase(name: "normal", duration: 3, normalRate: 1_000),
        ScenarioPhase(name: "syn", duration: 2, normalRate: 1_000, attack: AttackSpec(kind: .synFlood, rate: 5_000)),
    ])

    func warmedUp() -> (Detector, [LabeledPacket]) {
        var d = Detector(config: DetectorConfig())
        var rest: [LabeledPacket] = []
        for p in scenario.stream() {
            if p.phase == 0 { d.ingest(p.features) } else { rest.append(p) }
        }
        return (d, rest)
    }

    /// Puts in force a rule for a made-up incident, as attribution would have.
    func enforce(_ d: inout Detector, _ predicates: [Candidate], at t: UInt64) {
        var inc = Incident(id: d.incidents.count + 1, openedAt: t, drift: 1, dimension: d.config.dimension)
        let rule = DetectedRule(id: 1, rateLimitPps: nil, derivedAt: t, explanation: "test", predicates: predicates, baselineShare: 0)
        inc.rules = [rule]
        d.incidents.append(inc)
        d.activeRules.append((inc.id, rule))
    }

    @Test func aRuleOnRealUsersIsReleased() {
        var (d, rest) = warmedUp()
        #expect(d.isWarmedUp)
        _ = d.drainEvents()
        let tcp = [Candidate(field: .proto, kind: .equals(6))]
        enforce(&d, tcp, at: rest[0].features.timestamp)
        for p in rest where p.phase == 1 { d.ingest(p.features) }
        let closed = d.drainEvents().compactMap { if case .closed(let i) = $0 { i } else { nil } }
        #expect(closed.count == 1)
        #expect(closed.first?.falsePositive != nil, "released as a false positive")
        #expect(d.rules.isEmpty)
        #expect(d.isSuppressed(tcp.map(\.predicate), at: rest.last!.features.timestamp))
    }

    @Test func aSpoofedFloodIsNot() {
        var (d, rest) = warmedUp()
        _ = d.drainEvents()
        let syn = [Candidate(field: .proto, kind: .equals(6)), Candidate(field: .tcpFlags, kind: .equals(2)),
                   Candidate(field: .ttl, kind: .equals(243))]
        let attack = rest.filter { $0.phase == 2 }
        enforce(&d, syn, at: attack[0].features.timestamp)
        for p in attack { d.ingest(p.features) }
        let events = d.drainEvents()
        #expect(!events.contains { if case .closed(let i) = $0 { i.falsePositive != nil } else { false } })
        #expect(d.incidents[0].matchedSamples > 1_000, "the rule saw the flood: \(d.incidents.map(\.matchedSamples))")
    }
}
