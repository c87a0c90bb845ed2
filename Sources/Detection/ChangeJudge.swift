import Holon
import Packets

/// The detector's judgement of traffic a rule would cover (issue 14 §3): legitimate — a new
/// service, growth, a large transfer of a known user — gets no rule.
public struct ChangeJudgement: Sendable, CustomStringConvertible {
    public let legitimate: Bool
    /// Traffic time of the judgement.
    public let at: UInt64
    /// The rule that was not installed, as text.
    public let rule: String
    /// Why: which of the two tests it passed, with its numbers.
    public let reason: String
    /// Share of the baseline the detector learned the change at (0…1).
    public internal(set) var learnedShare: Double

    public var description: String {
        "\(legitimate ? "legitimate" : "attack") \(rule): \(reason); learned at \(String(format: "%.3f", learnedShare))"
    }
}

/// Tells growth from attack for traffic a derived rule would cover.
///
/// An attack is traffic unlike what the site's users send. Traffic that is unlike the baseline
/// in the rule's new field only — a port never seen, say — but otherwise looks like the
/// baseline's established traffic of the same kind (flag mix, sizes, TTLs and windows of many
/// sources, the servers it reaches) is users doing something new. Two tests, either suffices:
///
/// 1. **Known users.** Most of its samples come from sources the baseline saw: the criterion
///    the detector already uses to release a rule as a false positive
///    (``DetectorConfig/falsePositiveKnownShare``), applied before the rule is installed rather
///    than after it dropped real users. Spoofed floods, botnets and reflectors are sources the
///    baseline never saw.
/// 2. **Looks established, the new field unbound.** Its packets' record bundle with the rule's
///    fields unbound is compared with the same bundle of its established counterpart: the
///    baseline packets the whole rule matches, or when too few, those matching all but the one
///    predicate that sets it apart (its new field: `dst_port=8443` leaves `proto=tcp`); the
///    distance is judged against the distance between two samples of that baseline traffic of
///    the same sizes, so it is in units of sampling noise, not a tuned constant.
struct ChangeJudge {
    /// Fewest covered samples and baseline counterparts to judge on: below this a difference
    /// cannot be told from sampling noise, and the traffic is treated as the attack it may be.
    static let minSamples = 48
    /// Most packets encoded per side (the judgement runs at attribution, never per packet).
    static let maxEncoded = 512
    /// How many times the baseline's own sampling distance the change may be from it.
    static let noiseMultiple = 3.0

    struct Verdict {
        /// Real users' traffic: no rule.
        var legitimate: Bool
        /// Also what normal traffic is becoming (the vector test passed): the baseline learns
        /// it. A known user's one-off transfer is spared but not learned — it ends, and a
        /// baseline that had learned it would then miss it.
        var growth = false
        var reason: String
    }

    static func judge(predicates: [Candidate], covered: [PacketFeatures], baseline: Baseline, knownShare: Double,
                      encoder: inout VectorEncoder) -> Verdict {
        guard covered.count >= minSamples else { return Verdict(legitimate: false, reason: "too few samples") }
        let known = covered.reduce(0) { $0 + (baseline.sources.contains($1.srcIP) ? 1 : 0) }
        let knownFraction = Double(known) / Double(covered.count)
        var v = looksEstablished(predicates: predicates, covered: covered, baseline: baseline, encoder: &encoder)
        if !v.legitimate && knownFraction >= knownShare {
            v.legitimate = true
            v.reason = String(format: "%.0f%% of its samples from sources of the baseline (", knownFraction * 100) + v.reason + ")"
        }
        return v
    }

    /// The vector test (2. above).
    static func looksEstablished(predicates: [Candidate], covered: [PacketFeatures], baseline: Baseline,
                                 encoder: inout VectorEncoder) -> Verdict {
        // Its established counterpart: baseline packets the whole rule matches when there are
        // enough (a surge of a kind normal traffic has), else those matching all but the one
        // predicate that most sets it apart — its new field (a port never seen, say).
        let reservoir = baseline.reservoir
        // The protocol every covered packet shares is part of what it is, as the rule will say
        // (``Detector/makeRule``): its counterpart is traffic of that protocol.
        var predicates = predicates
        if !predicates.contains(where: { $0.field == .proto }), let p = covered.first?.proto,
           covered.allSatisfy({ $0.proto == p }) {
            predicates.insert(Candidate(field: .proto, kind: .equals(UInt64(p))), at: 0)
        }
        func matching(_ ps: [Candidate]) -> [PacketFeatures] { reservoir.filter { f in ps.allSatisfy { $0.matches(f) } } }
        var counterpart = matching(predicates)
        if counterpart.count < 2 * minSamples && predicates.count > 1 {
            for i in predicates.indices {
                var rest = predicates
                rest.remove(at: i)
                let c = matching(rest)
                if c.count > counterpart.count { counterpart = c }
            }
        }
        guard counterpart.count >= 2 * minSamples else {
            return Verdict(legitimate: false, reason: "no established baseline traffic to compare with")
        }
        let left = FieldFilter.without(Set(predicates.flatMap { DetectorRecord.fields(encoding: $0.field) }))
        let dimension = encoder.dimension
        func bundle(_ packets: some Sequence<PacketFeatures>) -> Accumulator {
            var acc = Accumulator(dimension: dimension)
            for f in packets { acc.add(encoder.encode(FilteredRecord(packet: f, filter: left))) }
            return acc
        }
        let change = bundle(spread(covered, maxEncoded))
        // Two disjoint samples of the counterpart: one the size of the change, one the rest.
        let m = min(change.count, counterpart.count / 2)
        // Interleaved, so neither is an earlier stretch of the warmup than the other.
        let sample = spread(counterpart, maxEncoded + m)
        let stride = max(1, sample.count / m)
        let inA = { (i: Int) in i % stride == 0 && i / stride < m }
        let a = bundle(sample.indices.lazy.filter(inA).map { sample[$0] })
        let b = bundle(sample.indices.lazy.filter { !inA($0) }.map { sample[$0] })
        let distance = 1 - change.cosine(b)
        let noise = max(1 - a.cosine(b), 1e-4)
        let ratio = distance / noise
        let reason = String(format: "like the baseline's established traffic but for its new field: distance %.4f, %.1f× the baseline's own %.4f",
                            distance, ratio, noise)
        return Verdict(legitimate: ratio <= noiseMultiple, growth: ratio <= noiseMultiple, reason: reason)
    }

    /// At most `n` elements spread evenly over `xs` (deterministic).
    static func spread<T>(_ xs: [T], _ n: Int) -> [T] {
        guard xs.count > n, n > 0 else { return xs }
        let step = Double(xs.count) / Double(n)
        return (0..<n).map { xs[Int(Double($0) * step)] }
    }
}
