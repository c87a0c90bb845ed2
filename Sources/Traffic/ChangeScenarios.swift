/// Scenarios of issue 14 §2 and §3: legitimate change that is not an attack, and an attack that
/// is already running when the detector starts learning.
extension Scenario {
    /// Extra traffic growing linearly from 0 to `peak` over `seconds`, in steps of `step`
    /// seconds (each step a phase at the step's mid-point rate): smooth at the detector's scale,
    /// expressible in the phase model.
    public static func ramp(_ name: String, seconds: Double, step: Double = 2, peak: Double,
                     _ make: (Double) -> ExtraTraffic) -> [ScenarioPhase] {
        let n = Int((seconds / step).rounded())
        return (0..<n).map { i in
            let rate = peak * (Double(i) + 0.5) / Double(n)
            return ScenarioPhase(name: "\(name)-\(i + 1)", duration: step, normalRate: baseRate, extra: make(rate))
        }
    }

    /// A new legitimate TCP service on port 8443 (web flows of new users: handshakes, data,
    /// closes) growing smoothly to half the baseline rate over a minute, then staying.
    public static let newService = Scenario(name: "new-service", seed: 21, phases:
        [calm("baseline", 20)]
        + ramp("new-service", seconds: 60, peak: 2_500) { .service(port: 8443, rate: $0) }
        + [ScenarioPhase(name: "new-service-steady", duration: 10, normalRate: baseRate,
                         extra: .service(port: 8443, rate: 2_500))])

    /// The added traffic of ``legitGrowth``: the same kinds as the baseline, in another mix
    /// (less web, much more DNS, NTP and ping), from users of its own.
    public static var shiftedMix: NormalProfile {
        var p = NormalProfile()
        p.web = 0.4
        p.dnsQueries = 0.25
        p.dnsResponses = 0.2
        p.ntp = 0.08
        p.icmp = 0.07
        return p
    }

    /// The whole rate doubling over 30 s with the protocol mix shifting (web from 75 % to
    /// 57 % of packets), then staying doubled.
    public static let legitGrowth = Scenario(name: "legit-growth", seed: 22, phases:
        [calm("baseline", 20)]
        + ramp("growth", seconds: 30, peak: baseRate) { ExtraTraffic(kind: .mix, rate: $0, profile: shiftedMix) }
        + [ScenarioPhase(name: "doubled", duration: 10, normalRate: baseRate,
                         extra: ExtraTraffic(kind: .mix, rate: baseRate, profile: shiftedMix))])

    /// One large upload: a known client sends full-size segments to port 443 at 20,000 pps
    /// (240 Mbit/s) for 2 s — the baseline lab's false "ack-flood".
    public static let uploadBurst = Scenario(name: "upload-burst", seed: 23, phases: [
        calm("baseline", 20),
        ScenarioPhase(name: "upload", duration: 2, normalRate: baseRate, extra: ExtraTraffic(kind: .upload, rate: 20_000)),
        calm("after", 8),
    ])

    /// A chargen reflection at 5× the normal rate that is already arriving when the detector
    /// starts, so its whole warmup contains it; it goes on for 10 s after a 10 s warmup.
    public static let attackAtStart = Scenario(name: "attack-at-start", seed: 24, phases: [
        attack("chargen-reflection", 20, .chargenReflection, rate: 5 * baseRate, sources: .reflectors(1000)),
        calm("recovery", 5),
    ])

    /// A new service grows and is learned, then an ACK flood and a UDP flood at the same host:
    /// the legitimate-change judgement must not excuse the attacks that follow (each must open
    /// within 1 s). Not a built-in; LegitimateChangeTests and `holon bench memory` replay it.
    public static let growthThenAttacks: Scenario = {
        var phases = Array(Scenario.newService.phases.prefix(16))
        for (kind, sources) in [(AttackKind.ackFlood, AttackSources.spoofed), (.udpFlood, .block("45.83.0.0/16", count: 5000))] {
            phases.append(ScenarioPhase(name: kind.rawValue, duration: 1.5, normalRate: 5_000,
                                        attack: AttackSpec(kind: kind, rate: 250_000, sources: sources),
                                        extra: .service(port: 8443, rate: 1_500)))
            phases.append(ScenarioPhase(name: "after-\(kind)", duration: 4, normalRate: 5_000, extra: .service(port: 8443, rate: 1_500)))
        }
        return Scenario(name: "growth-then-attacks", seed: 25, phases: phases)
    }()

    /// The change scenarios above, built-ins of `holon demo` (growth-then-attacks is not).
    public static let change: [Scenario] = [.newService, .legitGrowth, .uploadBurst, .attackAtStart]
}
