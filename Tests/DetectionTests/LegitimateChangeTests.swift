import Detection
import Testing
import Traffic

/// Issue 14 §3: legitimate change is not an attack. Each scenario is real users doing something
/// the baseline never saw; before ``ChangeJudge`` each raised an incident whose rule dropped them
/// (`(and (= proto tcp) (= dst_port 8443)) (drop)` for the new service, a false `ack-flood` for
/// the upload).
@Suite(.ownThread, .serialized) struct LegitimateChangeTests {
    static func expectNoIncident(_ eval: Evaluation, _ label: String) {
        let falseAlarms = eval.phases.filter { $0.detected_after_ms != nil }.map { "\($0.name): \($0.rules)" }
        #expect(falseAlarms.isEmpty, "\(label): incidents on legitimate change: \(falseAlarms); judged: \(eval.detector.judgements)")
        #expect(eval.writtenRules.isEmpty, "\(label): rules written: \(eval.writtenRules.map(\.text))")
        #expect(eval.replay.legit_dropped == 0, "\(label): \(eval.replay.legit_dropped) legitimate packets dropped")
    }

    @Test func newServiceGrowingOverAMinuteGetsNoRule() {
        let eval = Harness.run(.newService)
        Self.expectNoIncident(eval, "new-service")
        // It was seen and judged, not missed: the change is on record.
        #expect(eval.detector.judgements.contains { $0.legitimate && $0.rule.contains("8443") }, "\(eval.detector.judgements)")
    }

    /// `legit-growth` at the sizes a debug build affords: 2,000 pps doubling over 30 s.
    @Test func rateDoublingWithTheMixShiftingGetsNoRule() {
        let base = 2_000.0
        let s = Scenario(name: "legit-growth-small", seed: 22, phases:
            [ScenarioPhase(name: "baseline", duration: 12, normalRate: base)]
            + Scenario.ramp("growth", seconds: 30, peak: base) { ExtraTraffic(kind: .mix, rate: $0, profile: Scenario.shiftedMix) }
                .map { var p = $0; p.normalRate = base; return p }
            + [ScenarioPhase(name: "doubled", duration: 4, normalRate: base,
                             extra: ExtraTraffic(kind: .mix, rate: base, profile: Scenario.shiftedMix))])
        Self.expectNoIncident(Harness.run(s), s.name)
    }

    @Test func largeUploadOfAKnownClientIsNotAnAckFlood() {
        Self.expectNoIncident(Harness.run(.uploadBurst), "upload-burst")
    }

    /// The judge must not excuse attacks: after the new service has been learned, floods on the
    /// same victim are still caught and mitigated as before.
    @Test func attacksAfterGrowthAreStillCaught() {
        let s = Scenario.growthThenAttacks
        let eval = Harness.run(s)
        for p in eval.phases where p.is_attack {
            #expect(p.detected_after_ms.map { $0 >= 0 && $0 <= 1000 } == true, "\(p.name) detected after \(String(describing: p.detected_after_ms))")
            #expect(!p.rules.isEmpty, "\(p.name): no rule")
        }
        #expect(eval.replay.attack_dropped_fraction >= 0.99, "attack dropped \(eval.replay.attack_dropped_fraction)")
        #expect(eval.replay.legit_dropped_fraction <= 0.005, "legitimate dropped \(eval.replay.legit_dropped_fraction)")
    }
}
