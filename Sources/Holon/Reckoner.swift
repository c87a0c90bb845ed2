/// Learns discrete labels from examples: one accumulator per label, a prediction ranks the
/// labels by the cosine of their accumulator with the query. With dense examples this is the
/// nearest-class-mean classifier in the vectors' space; weights let an example count more.
public struct DiscreteReckoner: Sendable {
    public let dimension: Int
    public private(set) var labels: [String] = []
    var memories: [Accumulator] = []

    public init(dimension: Int) {
        precondition(dimension > 0, "DiscreteReckoner: dimension must be positive")
        self.dimension = dimension
    }

    public mutating func learn(_ v: Hypervector, label: String, weight: Double = 1) {
        precondition(v.dimension == dimension, "DiscreteReckoner.learn: dimension \(v.dimension), expected \(dimension)")
        if let i = labels.firstIndex(of: label) {
            memories[i].add(v, weight: weight)
        } else {
            labels.append(label)
            var acc = Accumulator(dimension: dimension)
            acc.add(v, weight: weight)
            memories.append(acc)
        }
    }

    public struct Prediction: Equatable, Sendable {
        public let label: String
        /// Cosine between the query and the label's accumulated examples.
        public let score: Double
    }

    /// Every label with its score, best first (ties keep the order labels were first learned).
    public func predict(_ v: Hypervector) -> [Prediction] {
        precondition(v.dimension == dimension, "DiscreteReckoner.predict: dimension \(v.dimension), expected \(dimension)")
        return zip(labels, memories).enumerated()
            .map { (offset: $0, p: Prediction(label: $1.0, score: $1.1.cosine(v))) }
            .sorted { $0.p.score != $1.p.score ? $0.p.score > $1.p.score : $0.offset < $1.offset }
            .map(\.p)
    }
}

/// Learns a number from examples: the memory is `M = Σᵢ wᵢ · xᵢ ⊙ code(yᵢ)`, with `code` a
/// ``ScalarEncoder`` code, and the prediction for `q` decodes `M ⊙ q`. A query equal to a learned
/// example unbinds its own code exactly and the others' as noise; a query similar to several
/// examples gets the value their codes jointly match best. Capacity is that of a bundle: at
/// d = 4096, tens of examples decode to within a level or two.
public struct ContinuousReckoner: Sendable {
    public let encoding: ScalarEncoding
    let scalars: ScalarEncoder
    public private(set) var memory: Accumulator

    public init(space: VectorSpace, encoding: ScalarEncoding) {
        self.encoding = encoding
        self.scalars = space.scalarEncoder
        self.memory = Accumulator(dimension: space.dimension)
    }

    public mutating func learn(_ x: Hypervector, value: Double, weight: Double = 1) {
        precondition(x.dimension == memory.dimension, "ContinuousReckoner.learn: dimension \(x.dimension), expected \(memory.dimension)")
        memory.add(Hypervector.bind(x, scalars.encode(value, encoding)), weight: weight)
    }

    public func predict(_ q: Hypervector) -> Double {
        precondition(q.dimension == memory.dimension, "ContinuousReckoner.predict: dimension \(q.dimension), expected \(memory.dimension)")
        return scalars.decode(memory.bound(with: q), encoding)
    }
}

extension Accumulator {
    /// The sums multiplied lane by lane by `v` (−1, 0, +1): binding a real-valued memory with a
    /// key, the same unbinding ``Hypervector/bind(_:_:)`` does for a hypervector.
    public func bound(with v: Hypervector) -> Accumulator {
        precondition(v.dimension == dimension, "Accumulator.bound: dimension \(v.dimension), expected \(dimension)")
        var out = self
        let d = dimension
        out.withMutableLanes { s in
            v.withPlanes { p in
                let w = v.wordCount
                for j in 0..<d {
                    let bit = UInt64(1) << UInt64(j & 63)
                    if p[w + j >> 6] & bit == 0 { s[j] = 0 } else if p[j >> 6] & bit != 0 { s[j] = -s[j] }
                }
            }
        }
        return out
    }
}
