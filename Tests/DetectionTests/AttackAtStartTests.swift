import Detection
import Testing
import Traffic

/// Issue 14 §2: an attack already arriving when the detector starts learning. Before
/// ``WarmupAudit`` the chargen reflection was learned as normal and never flagged.
@Suite(.ownThread, .serialized) struct AttackAtStartTests {
    @Test func reflectionRunningThroughWarmupIsFlaggedAndMitigatedAtCalibration() throws {
        // The built-in scenario at the sizes a debug build affords: 2,000 pps of normal traffic
        // under a chargen reflection at 5×, from the first packet.
        let s = Scenario(name: "attack-at-start-small", seed: 24, phases: [
            ScenarioPhase(name: "chargen-reflection", duration: 13, normalRate: 2_000,
                          attack: AttackSpec(kind: .chargenReflection, rate: 10_000, sources: .reflectors(1000))),
            ScenarioPhase(name: "recovery", duration: 3, normalRate: 2_000),
        ])
        let eval = Harness.run(s)
        let d = eval.detector
        #expect(d.warmupFindings.map(\.name) == ["chargen-reflection"], "\(d.warmupFindings)")
        let chargen = eval.phases[0]
        // The phase starts with the stream; calibration is at the end of the 10 s warmup.
        let ms = try #require(chargen.detected_after_ms, "never flagged")
        #expect(ms <= 10_000 + 2_000, "flagged \(ms - 10_000) ms after calibration")
        #expect(chargen.rules.contains { $0.contains("(= src_port 19)") }, "\(chargen.rules); judged: \(d.judgements)")
        #expect(chargen.attack_name == "chargen-reflection")
        #expect(Double(chargen.attack_dropped_after_detection) >= 0.99 * Double(chargen.attack_after_detection),
                "dropped \(chargen.attack_dropped_after_detection) of \(chargen.attack_after_detection) after detection")
        #expect(eval.replay.legit_dropped_fraction <= 0.005, "legitimate dropped \(eval.replay.legit_dropped_fraction)")
        #expect(eval.phases[1].detected_after_ms == nil, "false incident in recovery: \(eval.phases[1].rules)")
    }

    /// Once the reflection is left out, the drift lines are those of a clean warmup (drawn again
    /// from the clean packets, not the attack's warmup scaled), and a different attack later is
    /// caught as in a detector that never saw the first.
    @Test func linesAfterTheExcludedAttackAreThoseOfACleanWarmup() throws {
        let reflection = AttackSpec(kind: .chargenReflection, rate: 10_000, sources: .reflectors(1000))
        let flood = AttackSpec(kind: .udpFlood, rate: 10_000)
        func scenario(_ first: AttackSpec?) -> Scenario {
            Scenario(name: "attack-at-start-then-another", seed: 24, phases: [
                ScenarioPhase(name: "start", duration: 13, normalRate: 2_000, attack: first),
                ScenarioPhase(name: "recovery", duration: 3, normalRate: 2_000),
                ScenarioPhase(name: "udp-flood", duration: 1.5, normalRate: 2_000, attack: flood),
                ScenarioPhase(name: "after", duration: 2, normalRate: 2_000),
            ])
        }
        let dirty = Harness.run(scenario(reflection)), clean = Harness.run(scenario(nil))
        #expect(dirty.detector.warmupFindings.map(\.name) == ["chargen-reflection"])
        #expect(clean.detector.warmupFindings.isEmpty)
        let ratio = dirty.detector.openThreshold / clean.detector.openThreshold
        #expect(ratio <= 1.5 && ratio >= 1 / 1.5, "open line \(dirty.detector.openThreshold) after the excluded attack, \(clean.detector.openThreshold) after a clean warmup")
        for eval in [dirty, clean] {
            let second = eval.phases[2]
            let ms = try #require(second.detected_after_ms, "the later flood was missed")
            #expect(ms >= 0 && ms <= 1000 && !second.rules.isEmpty, "\(ms) ms, \(second.short_rules)")
            #expect(eval.phases[1].detected_after_ms == nil && eval.phases[3].detected_after_ms == nil,
                    "false incident: \(eval.phases[1].short_rules) \(eval.phases[3].short_rules)")
        }
        print(String(format: "attack at start: open line %.2e (%.2f× the clean warmup's %.2e), close %.2e vs %.2e; later flood caught after %.0f ms (clean warmup: %.0f ms)",
                     dirty.detector.openThreshold, ratio, clean.detector.openThreshold, dirty.detector.closeThreshold,
                     clean.detector.closeThreshold, dirty.phases[2].detected_after_ms ?? -1, clean.phases[2].detected_after_ms ?? -1))
    }

    /// The built-in scenario (5,000 pps under a 25,000 pps reflection, sampled 1 in 4: the
    /// reservoir holds a share of the warmup's samples) against its own traffic without the
    /// reflection: the lines once calibrated.
    @Test func builtInLinesAreThoseOfACleanWarmup() {
        var clean = Scenario.attackAtStart
        clean.phases = clean.phases.map { var p = $0; p.attack = nil; return p }
        func calibrated(_ s: Scenario) -> Detector {
            var config = DetectorConfig()
            config.samplingRate = 4
            var d = Detector(config: config)
            for (n, p) in s.stream().enumerated() where n % 4 == 0 {
                d.ingest(p.features)
                if d.isWarmedUp { break }
            }
            return d
        }
        let dirty = calibrated(.attackAtStart), base = calibrated(clean)
        #expect(dirty.warmupFindings.map(\.name) == ["chargen-reflection"] && base.warmupFindings.isEmpty)
        let ratio = dirty.openThreshold / base.openThreshold
        #expect(ratio <= 1.5 && ratio >= 1 / 1.5, "open line \(dirty.openThreshold) after the excluded attack, \(base.openThreshold) after a clean warmup")
        print(String(format: "built-in attack-at-start: open line %.2e (%.2f× the clean warmup's %.2e), close %.2e vs %.2e",
                     dirty.openThreshold, ratio, base.openThreshold, dirty.closeThreshold, base.closeThreshold))
    }

    /// Clean warmups find nothing: the audit is not a new source of false incidents.
    @Test(arguments: [Scenario.default, .payloadMarker, .newService])
    func cleanWarmupHasNoFinding(scenario: Scenario) {
        var config = DetectorConfig()
        config.samplingRate = 4
        var d = Detector(config: config)
        var n = 0
        for p in scenario.stream() where !p.isAttack {
            n += 1
            if n % 4 == 0 { d.ingest(p.features) }
            if d.isWarmedUp { break }
        }
        #expect(d.isWarmedUp && d.warmupFindings.isEmpty, "\(scenario.name): \(d.warmupFindings)")
    }
}
