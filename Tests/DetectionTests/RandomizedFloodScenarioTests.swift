import Detection
import Rules
import TestSupport
import Testing
import Traffic

/// Issue 14 §1 through the offline loop: the built-in `syn-random` and `ack-random` floods (every
/// forgeable header random) end as an authentication rule, not a rate limit, and the replay —
/// whose clients retransmit a dropped SYN and whose host answers what it receives — loses no
/// real user. Small versions of the built-ins (debug builds are slow).
@Suite(.ownThread, .serialized) struct RandomizedFloodScenarioTests {
    static func small(_ kind: AttackKind) -> Scenario {
        Scenario(name: "\(kind)-small", seed: 43, phases: [
            ScenarioPhase(name: "baseline", duration: 12, normalRate: 2_000),
            ScenarioPhase(name: "\(kind)", duration: 3, normalRate: 2_000, attack: AttackSpec(kind: kind, rate: 40_000)),
            ScenarioPhase(name: "recovery", duration: 3, normalRate: 2_000),
        ])
    }

    @Test(arguments: [(AttackKind.synRandom, Action.synAuth), (.ackRandom, .flowCheck)])
    func aRandomizedFloodIsAuthenticatedAway(_ kind: AttackKind, _ action: Action) {
        let eval = Harness.run(Self.small(kind))
        let attack = eval.phases[1]
        #expect(attack.detected_after_ms != nil, "not detected")
        #expect(eval.writtenRules.contains { $0.action == action }, "\(eval.writtenRules.map(\.text))")
        #expect(!eval.writtenRules.contains { if case .rateLimit = $0.action { true } else { false } }, "\(eval.writtenRules.map(\.text))")
        #expect(eval.replay.attack_dropped_fraction >= 0.995, "attack dropped \(eval.replay.attack_dropped_fraction)")
        #expect(eval.replay.legit_dropped_fraction <= 0.001, "legit dropped \(eval.replay.legit_dropped) of \(eval.replay.legit_packets)")
    }
}
