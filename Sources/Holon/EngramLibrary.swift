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
        let scored = engrams.indices.map { (i: $0, s: Similarity.cosine(signs, engrams[$0].key)) }
        return scored.sorted { $0.s != $1.s ? $0.s > $1.s : $0.i < $1.i }.prefix(candidates).map(\.i)
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
