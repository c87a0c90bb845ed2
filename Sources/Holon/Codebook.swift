/// Named vectors to compare a query against: clean-up memory ("which known thing is this?") and
/// prototype sets (attack names, traffic classes).
///
/// Invariant: `names.count == vectors.count`, names are unique, all vectors share `dimension`.
public struct Codebook: Sendable {
    public let dimension: Int
    public private(set) var names: [String] = []
    public private(set) var vectors: [Hypervector] = []

    public init(dimension: Int) {
        self.dimension = dimension
    }

    /// Atoms of `space` for each name.
    public init(space: VectorSpace, names: [String]) {
        self.init(dimension: space.dimension)
        for n in names { set(n, space.atom(n)) }
    }

    public var count: Int { names.count }

    /// Adds `name`, or replaces its vector.
    public mutating func set(_ name: String, _ vector: Hypervector) {
        precondition(vector.dimension == dimension, "Codebook: \(name) has dimension \(vector.dimension), expected \(dimension)")
        if let i = names.firstIndex(of: name) {
            vectors[i] = vector
        } else {
            names.append(name)
            vectors.append(vector)
        }
    }

    public subscript(name: String) -> Hypervector? {
        names.firstIndex(of: name).map { vectors[$0] }
    }

    public struct Match: Equatable, Sendable {
        public let name: String
        public let similarity: Double
    }

    /// The `k` entries most similar to `query` (cosine), best first; ties keep insertion order.
    public func cleanup(_ query: Hypervector, top k: Int = 1) -> [Match] {
        precondition(query.dimension == dimension, "Codebook.cleanup: query dimension \(query.dimension), expected \(dimension)")
        guard k > 0 else { return [] }
        // A small insertion-sorted buffer: k is tiny next to the codebook.
        var best: [Match] = []
        best.reserveCapacity(k + 1)
        for (name, v) in zip(names, vectors) {
            let s = Similarity.cosine(query, v)
            if best.count == k, let last = best.last, s <= last.similarity { continue }
            let at = best.firstIndex { s > $0.similarity } ?? best.count
            best.insert(Match(name: name, similarity: s), at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// The best entry for an accumulator's sums (cosine), best first.
    public func cleanup(_ acc: Accumulator, top k: Int = 1) -> [Match] {
        let scored = zip(names, vectors).map { Match(name: $0, similarity: acc.cosine($1)) }
        return Array(scored.enumerated().sorted {
            $0.element.similarity != $1.element.similarity ? $0.element.similarity > $1.element.similarity : $0.offset < $1.offset
        }.prefix(k).map(\.element))
    }
}
