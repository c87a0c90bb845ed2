import Packets

/// Random scenarios for stress runs (formerly `scripts/stress-demo`): a baseline, then two
/// attacks drawn from a seed, each followed by a recovery, at sizes a debug `swift test` can
/// afford (baseline 12 s at ≤ 3 kpps, attacks of 1.5 s at ≤ 200 kpps). `StressTests` checks the
/// detector's acceptance list on them; `holon bench memory` replays them with and without an
/// attack memory. One draw, so that both run the same scenario for a seed.
extension Scenario {
    /// The kinds the script drew from.
    public static let stressKinds: [AttackKind] = [.synFlood, .ackFlood, .udpFlood, .dnsReflection, .ntpAmplification, .icmpFlood, .fragmentFlood]
    /// The hard cases of issues 14 and 17, drawn with the kinds above in trials of their own (so
    /// the first seeds keep drawing the scenarios they always drew).
    public static let stressHardKinds: [AttackKind] = [.payloadMarker, .synAckReflection, .dnsCarpet, .synRandom, .ackRandom, .chargenReflection]
    static let stressSources: [AttackSources] = [.spoofed, .block("45.83.0.0/16"), .block("0.0.0.0/0", count: 3000),
                                                 .block("103.20.0.0/14", count: 800)]
    static let stressVictims = ["198.51.100.10/32", "198.51.100.77/32", "198.51.100.0/26", "198.51.100.200/30"]

    /// The scenario of `seed` (named `stress-<seed>`) and the sampling rate to run it at.
    /// `hard`: the first attack is one of ``stressHardKinds``.
    public static func stress(seed: UInt64, hard: Bool = false) -> (Scenario, sampling: Int) {
        var d = Draw(rng: SplitMix64(seed: seed))
        let base = d.pick([1_000.0, 2_000, 3_000])
        var phases = [ScenarioPhase(name: "baseline", duration: 12, normalRate: base)]
        let (k1, k2) = hard ? (d.pick(stressHardKinds), d.pick(stressKinds)) : d.pickTwo(stressKinds)
        for (i, kind) in [k1, k2].enumerated() {
            let rate = base * d.pick(base <= 2_000 ? [50, 100] : [50.0])
            var sources = d.pick(stressSources)
            if kind.isReflection { sources = .block("0.0.0.0/0", count: d.pick([300, 2000, 8000])) }
            let attack = AttackSpec(kind: kind, rate: rate, sources: sources, victim: IPPrefix(d.pick(stressVictims))!)
            phases.append(ScenarioPhase(name: kind.rawValue, duration: 1.5, normalRate: base, attack: attack))
            phases.append(ScenarioPhase(name: "recovery-\(i)", duration: 4, normalRate: base))
        }
        let arrivals = d.pick([ArrivalModel.poisson, .jittered])
        let sampling = d.pick([1, 4, 8])
        return (Scenario(name: "stress-\(seed)", seed: d.rng.next() % 1_000_000 + 1, arrivals: arrivals, phases: phases), sampling)
    }

    /// Draws from a seed the way the script drew from Python's `random`.
    private struct Draw {
        var rng: SplitMix64
        mutating func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        /// Two different elements.
        mutating func pickTwo<T>(_ xs: [T]) -> (T, T) {
            let i = Int(rng.next() % UInt64(xs.count))
            let j = (i + 1 + Int(rng.next() % UInt64(xs.count - 1))) % xs.count
            return (xs[i], xs[j])
        }
    }
}
