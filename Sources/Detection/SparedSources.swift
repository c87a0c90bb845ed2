import Packets

/// The sources a rule spares: those that send what it matches steadily in the baseline.
///
/// A site's own resolvers answer from port 53 all day; a DNS carpet bombing answers from port 53
/// too, with the same sizes and bytes. No header value sets the two apart, but the baseline
/// knows who the site's resolvers are: the few sources that sent the very traffic the rule
/// blocks throughout the baseline. "Drop src port 53 except from them" is then exact, and is
/// written as the drop plus one higher-priority `pass` per spared source (the rule language's
/// exception, which the XDP classifier already enforces; no new predicate kind).
enum SparedSources {
    /// More steady sources than this means the traffic is a service many use, not a handful of
    /// known peers: it is rate-limited, not listed.
    static let maxSources = 16
    /// The baseline's time span is cut into this many slices; a steady source sent matching
    /// traffic in at least ``minSlices`` of them.
    static let slices = 8
    static let minSlices = 6

    /// The steady sources among the baseline packets `base` (a rule's matches in `reservoir`),
    /// and the baseline matches left once they are spared; nil when none is steady.
    /// `normalSamples`: how many of the `recent` samples normal traffic accounts for at its
    /// baseline rate, to tell what a source sends now from what it always sent.
    static func find(base: PacketSet, reservoir: [PacketFeatures], covered: PacketSet, recent: [PacketFeatures],
                     normalSamples: Double) -> (sources: [IPAddress], rest: PacketSet)? {
        guard base.population > 0, let lo = reservoir.lazy.map(\.timestamp).min(),
              let hi = reservoir.lazy.map(\.timestamp).max(), hi > lo else { return nil }
        let width = (hi - lo) / UInt64(slices) + 1
        var seen: [IPAddress: UInt8] = [:]
        var count: [IPAddress: Int] = [:]
        for (i, f) in reservoir.enumerated() where base.contains(i) {
            seen[f.srcIP, default: 0] |= 1 << UInt8((f.timestamp - lo) / width)
            count[f.srcIP, default: 0] += 1
        }
        var steady = seen.filter { $0.value.nonzeroBitCount >= minSlices }.map(\.key)
        guard !steady.isEmpty, steady.count <= maxSources else { return nil }
        // A source sending far more now than its baseline share of normal traffic predicts is
        // part of the change (a steady peer that is itself the flood), not spared.
        var recentBy: [IPAddress: Int] = [:]
        for (i, f) in recent.enumerated() where covered.contains(i) { recentBy[f.srcIP, default: 0] += 1 }
        steady.removeAll { s in
            let expected = Double(count[s] ?? 0) / Double(reservoir.count) * normalSamples
            return Double(recentBy[s] ?? 0) > 3 * expected + 5 * expected.squareRoot() + 8
        }
        guard !steady.isEmpty else { return nil }
        let spared = Set(steady)
        var rest = base
        for (i, f) in reservoir.enumerated() where base.contains(i) && spared.contains(f.srcIP) {
            rest.words[i >> 6] &= ~(1 << UInt64(i & 63))
        }
        return (steady.sorted(), rest)
    }
}

extension SparedSources {
    /// The predicate naming one spared source exactly.
    static func candidate(_ source: IPAddress) -> Candidate {
        switch source {
        case .v4(let a): return Candidate(field: .srcIP, kind: .equals(UInt64(a)))
        case .v6: return Candidate(field: .srcIP, kind: .address(source))
        }
    }
}
