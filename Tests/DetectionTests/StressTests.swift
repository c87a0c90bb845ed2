import Detection
import Packets
import Testing
import Traffic

/// Random scenarios through the offline live loop (what `holon demo` runs), each checked against
/// the detector issue's acceptance list. Formerly `scripts/stress-demo`, which drove the release
/// binary with full-size scenarios; here every seed draws one scenario at the sizes a debug
/// `swift test` can afford (baseline 12 s at ≤ 3 kpps, attacks of 1.5 s at ≤ 200 kpps instead
/// of 12–40 s at ≤ 12 kpps and 2–3 s at ≤ 1.2 Mpps), with the script's choices of attack kinds,
/// sources, victims, arrivals and sampling.
@Suite(.ownThread, .serialized) struct StressTests {
    static let kinds: [AttackKind] = [.synFlood, .ackFlood, .udpFlood, .dnsReflection, .ntpAmplification, .icmpFlood, .fragmentFlood]
    /// The hard cases of issue 14 and 17, drawn with the kinds above in trials of their own (so
    /// the first twelve seeds keep drawing the scenarios they always drew).
    static let hardKinds: [AttackKind] = [.payloadMarker, .synAckReflection, .dnsCarpet, .synRandom, .ackRandom, .chargenReflection]
    static let sources: [AttackSources] = [.spoofed, .block("45.83.0.0/16"), .block("0.0.0.0/0", count: 3000),
                                           .block("103.20.0.0/14", count: 800)]
    static let victims = ["198.51.100.10/32", "198.51.100.77/32", "198.51.100.0/26", "198.51.100.200/30"]

    /// Draws from a seed the way the script drew from Python's `random`.
    struct Draw {
        var rng: SplitMix64
        mutating func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        /// Two different elements.
        mutating func pickTwo<T>(_ xs: [T]) -> (T, T) {
            let i = Int(rng.next() % UInt64(xs.count))
            let j = (i + 1 + Int(rng.next() % UInt64(xs.count - 1))) % xs.count
            return (xs[i], xs[j])
        }
    }

    /// One random scenario and the sampling rate to run it at.
    static func scenario(seed: UInt64, hard: Bool = false) -> (Scenario, sampling: Int) {
        var d = Draw(rng: SplitMix64(seed: seed))
        let base = d.pick([1_000.0, 2_000, 3_000])
        var phases = [ScenarioPhase(name: "baseline", duration: 12, normalRate: base)]
        let (k1, k2) = hard ? (d.pick(hardKinds), d.pick(kinds)) : d.pickTwo(kinds)
        for (i, kind) in [k1, k2].enumerated() {
            let rate = base * d.pick(base <= 2_000 ? [50, 100] : [50.0])
            var sources = d.pick(Self.sources)
            if kind.isReflection { sources = .block("0.0.0.0/0", count: d.pick([300, 2000, 8000])) }
            let attack = AttackSpec(kind: kind, rate: rate, sources: sources, victim: IPPrefix(d.pick(victims))!)
            phases.append(ScenarioPhase(name: kind.rawValue, duration: 1.5, normalRate: base, attack: attack))
            phases.append(ScenarioPhase(name: "recovery-\(i)", duration: 4, normalRate: base))
        }
        let arrivals = d.pick([ArrivalModel.poisson, .jittered])
        let sampling = d.pick([1, 4, 8])
        return (Scenario(name: "stress-\(seed)", seed: d.rng.next() % 1_000_000 + 1, arrivals: arrivals, phases: phases), sampling)
    }

    /// Seeds whose scenario misses the 2 % rate bound: a finding of this test, kept visible as a
    /// known issue (every other check still fails the case; once the estimate is within bound the
    /// case fails as "known issue not recorded", so the seed is taken out of this set).
    /// Seed 11: DNS reflection at 50 kpps from 2,000 resolvers, sampled 1 in 4, estimated 2.1 % high.
    static let rateEstimateOutliers: Set<UInt64> = [11]

    /// The script's default: seed 1, 12 trials; here one scenario per seed.
    @Test(arguments: Array(1...12) as [UInt64])
    func randomScenarioMeetsAcceptance(seed: UInt64) {
        let (s, sampling) = Self.scenario(seed: seed)
        let eval = Harness.run(s, sampling: sampling)
        let label = "\(s.name) sampling 1/\(sampling) \(s.phases.compactMap(\.attack))"
        if Self.rateEstimateOutliers.contains(seed) {
            withKnownIssue("rate estimate just outside 2 %") {
                Harness.checkAcceptance(eval, label)
            } matching: { issue in
                issue.comments.contains { $0.rawValue.contains(" estimated ") }
            }
        } else {
            Harness.checkAcceptance(eval, label)
        }
    }

    /// One of issue 14's and 17's hard kinds, then one of the classic ones, per seed.
    /// Findings of these trials, each fixed: seed 107, a randomized ACK flood estimated at 0.60
    /// of its rate (its flow-check rule counted the real flows it passed); 108, one from a /14
    /// given four /16 rules, 97.9 % dropped; 111, a SYN-ACK reflection at a host normal traffic
    /// never reaches written as "all TCP to the host", then its RST-ACK part 250 ms late.
    @Test(arguments: Array(101...116) as [UInt64])
    func randomHardScenarioMeetsAcceptance(seed: UInt64) {
        let (s, sampling) = Self.scenario(seed: seed, hard: true)
        Harness.checkAcceptance(Harness.run(s, sampling: sampling), "\(s.name) sampling 1/\(sampling) \(s.phases.compactMap(\.attack))")
    }
}
