import Detection
import Packets
import Rules
import TestSupport
import Testing
import Traffic

/// Issue 14 §6: a pulse attack (2 s on, 3 s off) is recognised when it returns and its rule
/// reinstated from its first samples, not derived again after a new crossing.
@Suite(.ownThread, .serialized) struct RecurringAttackTests {
    static let pulses: Scenario = {
        var phases = [ScenarioPhase(name: "baseline", duration: 12, normalRate: 2_000)]
        for i in 1...3 {
            phases.append(ScenarioPhase(name: "pulse-\(i)", duration: 2, normalRate: 2_000,
                                        attack: AttackSpec(kind: .ntpAmplification, rate: 40_000, sources: .reflectors(1500))))
            phases.append(ScenarioPhase(name: "pause-\(i)", duration: 3, normalRate: 2_000))
        }
        return Scenario(name: "pulse-small", seed: 43, phases: phases)
    }()

    @Test func returningPulseGetsItsRuleBackWithinATick() {
        let eval = Harness.run(Self.pulses)
        let pulses = eval.phases.filter(\.is_attack)
        #expect(eval.phases.filter { !$0.is_attack }.allSatisfy { $0.incidents.isEmpty },
                "\(eval.phases.map { ($0.name, $0.incidents) })")
        for p in pulses {
            #expect(p.short_rules.count == 1, "\(p.name): \(p.short_rules)")
        }
        // The same rule each time.
        #expect(Set(pulses.flatMap(\.short_rules).map { $0.replacingOccurrences(of: #":id \d+ "#, with: "", options: .regularExpression) }).count == 1,
                "\(pulses.map(\.short_rules))")
        // The first pulse is found by drift and attribution; the others are recognised: their
        // rule is back within one 10 ms tick of their start.
        for p in pulses.dropFirst() {
            guard let ms = p.detected_after_ms else { Issue.record("\(p.name) not detected"); continue }
            #expect(ms >= 0 && ms <= 10, "\(p.name): rule back after \(ms) ms")
        }
        #expect(eval.replay.attack_dropped_fraction >= 0.995, "\(eval.replay.attack_dropped_fraction)")
        #expect(eval.replay.legit_dropped_fraction <= 0.001, "\(eval.replay.legit_dropped_fraction)")
    }

    /// A pulse that returns within the hold meets its rule still installed (held as a rate limit
    /// of ``DetectorConfig/heldRate``): its first packets are dropped too, not only those after
    /// the memory reinstated the rule. Without the hold they pass until then.
    @Test func returningPulseMeetsItsHeldRule() {
        let held = Harness.run(Self.pulses)
        let unheld = Harness.run(Self.pulses) { $0.hold = .zero }
        func leaked(_ e: Evaluation) -> [Int] { e.phases.filter(\.is_attack).dropFirst().map { $0.attack_packets - $0.attack_dropped } }
        let rate = Int(held.detector.config.heldRate)
        for (p, n) in zip(held.phases.filter(\.is_attack).dropFirst(), leaked(held)) {
            // A second's burst of the held rate limit, and that rate until the drop is back.
            #expect(n <= 2 * rate, "\(p.name): \(n) attack packets passed")
        }
        #expect(held.replay.legit_dropped_fraction <= 0.001, "\(held.replay.legit_dropped_fraction)")
        print("pulses 2–3: attack packets passed \(leaked(held)) with the hold, \(leaked(unheld)) without; dropped including onsets \(held.replay.attack_dropped_fraction_including_onset) vs \(unheld.replay.attack_dropped_fraction_including_onset); legitimate dropped \(held.replay.legit_dropped) vs \(unheld.replay.legit_dropped)")
    }
}
