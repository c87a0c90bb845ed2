import Holon
import Packets

/// Whether traffic that raised the drift without anything a rule can single out is made of
/// packets normal traffic has, only in other proportions (issue 14 §3: the whole rate doubling
/// with the protocol mix shifting).
///
/// A packet's typicality is the presence, in the baseline's vector sum, of its least present
/// role–filler pair: a packet every field of which normal traffic carries scores like the
/// baseline's own packets, one with a value normal traffic lacks (a random TTL, a window no
/// client uses, a new port) scores near zero. The line is the baseline's own low quantile, so it
/// is in units of what normal traffic shows, not a tuned constant.
struct Typicality {
    /// The quantile of the baseline's own packets taken as the line.
    static let quantile = 0.05
    /// Traffic is typical when at most this many times the quantile's share of its packets fall
    /// below the line (twice what the baseline's own packets show, leaving room for sampling).
    static let slack = 2.0
    static let maxPackets = 512

    /// Records a packet's role–filler pairs as the detector encodes them.
    struct Pairs: WalkVisitor {
        var out: [(FieldName, Int)] = []
        mutating func visit(_ f: FieldName, _ v: Int) { out.append((f, v)) }
        mutating func visit(_ f: FieldName, _ v: String) {}
        mutating func visit(_ f: FieldName, _ v: Bool) { out.append((f, v ? 1 : 0)) }
        mutating func visit(_ f: FieldName, _ v: Double) {}
        mutating func visit(_ f: FieldName, scalar v: Double, _ e: ScalarEncoding) {}
        mutating func visit<W: Walkable>(_ f: FieldName, record: W) {}
        mutating func visitList<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) {}
        mutating func visitSet<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) {}
        mutating func visitList(_ f: FieldName, scalars items: some Collection<ScalarValue>) {}
        mutating func visitSet(_ f: FieldName, scalars items: some Collection<ScalarValue>) {}
    }

    let baseline: Accumulator
    let space: VectorSpace
    var cache: [String: Double] = [:]

    init(baseline: Accumulator, space: VectorSpace) {
        self.baseline = baseline
        self.space = space
    }

    mutating func score(_ f: PacketFeatures) -> Double {
        var pairs = Pairs()
        DetectorRecord(f).walk(into: &pairs)
        var least = Double.infinity
        for (field, value) in pairs.out {
            let key = "\(field)=\(value)"
            let p: Double
            if let c = cache[key] {
                p = c
            } else {
                p = baseline.presence(of: space.pair(field, .int(value)))
                cache[key] = p
            }
            least = min(least, p)
        }
        return least
    }

    /// Whether `recent` is typical of the baseline whose packets `reference` samples; with the
    /// shares that make the judgement.
    mutating func judge(recent: [PacketFeatures], reference: [PacketFeatures]) -> (typical: Bool, below: Double, line: Double) {
        let ref = ChangeJudge.spread(reference, Self.maxPackets).map { score($0) }.sorted()
        let now = ChangeJudge.spread(recent, Self.maxPackets).map { score($0) }
        guard ref.count >= 2 * ChangeJudge.minSamples, now.count >= ChangeJudge.minSamples else { return (false, 1, 0) }
        let line = ref[Int(Double(ref.count) * Self.quantile)]
        let below = Double(now.filter { $0 < line }.count) / Double(now.count)
        return (below <= Self.slack * Self.quantile, below, line)
    }
}
