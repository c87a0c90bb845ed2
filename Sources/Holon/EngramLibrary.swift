/// A named memory of a learned pattern: the subspace a stream was learned into, metadata, and
/// its surprise fingerprint (the residual above which a vector does not belong to it).
public struct Engram: Codable, Sendable, Equatable {
    public let name: String
    public var metadata: [String: String]
    public let subspace: OnlineSubspace
    /// `subspace.threshold(sigmas:)` when stored: residuals of the learned stream stay below it.
    public let surprise: Double
    /// The sign pattern of the subspace's mean, compared by popcount in the pre-filter.
    let key: Hypervector
}

/// A library of engrams a probe is matched against, by residual, with a pre-filter that prunes:
/// the probe's sign pattern is compared with each engram's mean sign pattern (one popcount
/// cosine, ~25 ns at d = 4096) and only the `candidates` closest get the exact `O(k·d)` residual.
///
/// The pre-filter ranks by *where* a pattern lives (its mean), which tells patterns apart;
/// ranking by eigenvalues, as holon-rs does, scores every engram about alike. Patterns that
/// share a mean and differ only in how they vary are not separated by it — match those with
/// `candidates` equal to the library's size.
public struct EngramLibrary: Codable, Sendable {
    public private(set) var engrams: [Engram] = []

    public init() {}

    public var count: Int { engrams.count }

    /// Stores (or replaces, by name) an engram; its surprise is the subspace's residual
    /// threshold at `sigmas`.
    public mutating func store(_ name: String, subspace: OnlineSubspace, metadata: [String: String] = [:], sigmas: Double = 3) {
        let key = Hypervector(values: subspace.mean.map { $0 > 0 ? 1 : $0 < 0 ? -1 : 0 })
        let e = Engram(name: name, metadata: metadata, subspace: subspace, surprise: subspace.threshold(sigmas: sigmas), key: key)
        if let i = engrams.firstIndex(where: { $0.name == name }) { engrams[i] = e } else { engrams.append(e) }
    }

    public struct Match: Equatable, Sendable {
        public let name: String
        public let residual: Double
        /// `residual / surprise`: at most 1 when the probe fits the engram as its own stream did.
        public let surprise: Double
        public var fits: Bool { surprise <= 1 }
    }

    /// The pre-filter alone: engram indices by the cosine of their key with the probe's signs,
    /// best first.
    public func prefilter(_ probe: [Double], candidates: Int) -> [Int] {
        guard let first = engrams.first else { return [] }
        precondition(probe.count == first.subspace.dimension, "EngramLibrary: probe has \(probe.count) lanes, expected \(first.subspace.dimension)")
        let signs = Hypervector(values: probe.map { $0 > 0 ? 1 : $0 < 0 ? -1 : 0 })
        // The best `candidates` kept in order as the library is scanned: O(n · candidates) with
        // no sort of all n scores (at 2,000 engrams the sort cost more than the cosines).
        let k = Swift.min(candidates, engrams.count)
        guard k > 0 else { return [] }
        var best: [(i: Int, s: Double)] = []
        best.reserveCapacity(k + 1)
        for i in engrams.indices {
            let s = Similarity.cosine(signs, engrams[i].key)
            if best.count == k && s <= best[k - 1].s { continue }   // ties: the earlier engram stays
            var at = best.count
            while at > 0 && best[at - 1].s < s { at -= 1 }
            best.insert((i, s), at: at)
            if best.count > k { best.removeLast() }
        }
        return best.map(\.i)
    }

    /// What ``recall(_:candidates:)`` found, and what it cost.
    public struct Recall: Equatable, Sendable {
        /// The first candidate, in pre-filter order, the probe fits (nil: none of them).
        public let match: Match?
        /// How many full residuals were computed (≤ `candidates`).
        public let examined: Int
    }

    /// Walks the pre-filter's candidates best first and stops at the first engram the probe
    /// fits (surprise ≤ 1). A stored pattern's probe usually fits the first candidate, so one
    /// residual is computed for it; a novel probe costs all `candidates`. Unlike
    /// ``match(_:candidates:)`` this answers "is it one of these, and which", not "which is
    /// least surprising".
    public func recall(_ probe: [Double], candidates: Int = 8) -> Recall {
        var examined = 0
        for i in prefilter(probe, candidates: candidates) {
            examined += 1
            let e = engrams[i]
            let r = e.subspace.residual(probe)
            let m = Match(name: e.name, residual: r, surprise: e.surprise > 0 ? r / e.surprise : .infinity)
            if m.fits { return Recall(match: m, examined: examined) }
        }
        return Recall(match: nil, examined: examined)
    }

    /// The candidates' matches, least surprising first.
    public func match(_ probe: [Double], candidates: Int = 8) -> [Match] {
        prefilter(probe, candidates: candidates).map { i in
            let e = engrams[i]
            let r = e.subspace.residual(probe)
            return Match(name: e.name, residual: r, surprise: e.surprise > 0 ? r / e.surprise : .infinity)
        }.sorted { $0.surprise < $1.surprise }
    }
}
