import Detection
import Packets
import Rules
import TestSupport
import Testing
import Traffic

/// Runs a scenario through the offline live loop and checks the detector's acceptance numbers.
/// The scenarios here are small (debug builds are slow); `holon demo` runs the full-size ones.
enum Harness {
    static func run(_ scenario: Scenario, sampling: Int = 4, warmup: Duration = .seconds(10),
                    configure: (inout DetectorConfig) -> Void = { _ in }) -> Evaluation {
        var config = DetectorConfig()
        config.samplingRate = sampling
        config.warmup = warmup
        configure(&config)
        var eval = Evaluation(config: config,
                              phases: scenario.phases.map { .init(name: $0.name, isAttack: $0.attack != nil) },
                              samplingSeed: scenario.seed)
        for p in scenario.stream() {
            eval.process(LabeledSample(features: p.features, isAttack: p.isAttack, phase: p.phase))
        }
        eval.finish()
        return eval
    }

    static func scenario(_ name: String, seed: UInt64, _ attacks: [(AttackKind, Double, AttackSources?)],
                         base: Double = 2_000, attackSeconds: Double = 1.5) -> Scenario {
        var phases = [ScenarioPhase(name: "baseline", duration: 12, normalRate: base)]
        for (i, (kind, rate, sources)) in attacks.enumerated() {
            phases.append(ScenarioPhase(name: kind.rawValue, duration: attackSeconds, normalRate: base,
                                        attack: AttackSpec(kind: kind, rate: rate, sources: sources)))
            phases.append(ScenarioPhase(name: "recovery-\(i + 1)", duration: 4, normalRate: base))
        }
        return Scenario(name: name, seed: seed, phases: phases)
    }

    /// The acceptance list of the detector issue, phase by phase.
    static func checkAcceptance(_ eval: Evaluation, _ label: String) {
        for p in eval.phases {
            if p.is_attack {
                guard let ms = p.detected_after_ms else {
                    Issue.record("\(label): attack phase \(p.name) not detected")
                    continue
                }
                #expect(ms >= 0 && ms <= 1000, "\(label): \(p.name) detected after \(ms) ms (negative: folded into an earlier crossing)")
                #expect(!p.rules.isEmpty, "\(label): \(p.name) has no rule")
                if let est = p.estimated_pps, let truth = p.true_pps {
                    #expect(abs(est - truth) / truth <= 0.02, "\(label): \(p.name) estimated \(est) pps, true \(truth)")
                } else {
                    Issue.record("\(label): \(p.name) has no rate estimate")
                }
            } else {
                #expect(p.detected_after_ms == nil, "\(label): false incident in normal phase \(p.name)")
            }
        }
        #expect(eval.replay.attack_dropped_fraction >= 0.995,
                "\(label): attack dropped \(eval.replay.attack_dropped_fraction)")
        #expect(eval.replay.legit_dropped_fraction <= 0.005,
                "\(label): legitimate dropped \(eval.replay.legit_dropped_fraction)")
        for rule in eval.writtenRules {
            // Never all UDP, never all of a victim: something about the traffic must be named.
            let fields = Set(rule.predicates.map(\.field))
            #expect(!fields.isSubset(of: [.proto, .dstIP]), "\(label): over-broad rule \(rule.text) in \(eval.phases.map { ($0.name, $0.rules) })")
        }
    }
}

@Suite(.ownThread, .serialized) struct AcceptanceTests {
    @Test func reflectionSynAndIcmp() {
        let s = Harness.scenario("reflection-syn-icmp", seed: 11, [
            (.dnsReflection, 100_000, nil), (.synFlood, 200_000, nil), (.icmpFlood, 100_000, .block("45.83.0.0/16")),
        ])
        let eval = Harness.run(s)
        Harness.checkAcceptance(eval, s.name)
        let dns = eval.phases.first { $0.name == "dns-reflection" }!
        // DNS reflection → UDP from port 53 (and the fragments that carry no port).
        #expect(dns.rules.contains { $0.contains("(= proto udp)") && $0.contains("(= src_port 53)") }, "\(dns.rules)")
        let syn = eval.phases.first { $0.name == "syn-flood" }!
        #expect(syn.rules.contains { $0.contains("(= tcp_flags syn)") }, "\(syn.rules)")
        #expect(dns.attack_name == "dns-reflection" && syn.attack_name == "syn-flood")
    }

    @Test func amplificationAndFloods() {
        let s = Harness.scenario("ntp-udp-ack-frag", seed: 12, [
            (.ntpAmplification, 120_000, nil), (.udpFlood, 100_000, .block("45.83.0.0/16", count: 3000)),
            (.ackFlood, 100_000, nil), (.fragmentFlood, 100_000, nil),
        ])
        let eval = Harness.run(s)
        Harness.checkAcceptance(eval, s.name)
        let ntp = eval.phases.first { $0.name == "ntp-amplification" }!
        #expect(ntp.rules.contains { $0.contains("(= proto udp)") && $0.contains("(= src_port 123)") }, "\(ntp.rules)")
    }

    @Test(arguments: [(13, 1, ArrivalModel.jittered), (14, 4, .poisson), (15, 1, .poisson), (16, 8, .jittered)])
    func noIncidentInNormalTraffic(seed: UInt64, sampling: Int, arrivals: ArrivalModel) {
        let s = Scenario(name: "calm", seed: seed, arrivals: arrivals, phases: [
            ScenarioPhase(name: "baseline", duration: 12, normalRate: 3_000),
            ScenarioPhase(name: "later", duration: 40, normalRate: 3_000),
        ])
        let eval = Harness.run(s, sampling: sampling)
        #expect(eval.detector.incidents.isEmpty, "seed \(seed): \(eval.detector.incidents)")
        #expect(eval.replay.legit_dropped == 0)
    }
}
