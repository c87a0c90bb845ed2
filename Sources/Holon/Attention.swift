/// Soft look-up in a key–value memory: the values weighted by how well their keys match.
public enum Attention {
    /// The result of ``attend(_:keys:values:sharpness:)``.
    public struct Result: Sendable {
        /// `sign(Σᵢ wᵢ valueᵢ)`, 0 where the weighted sum is exactly 0.
        public let vector: Hypervector
        /// `wᵢ = softmax(sharpness · cos(query, keyᵢ))`, summing to 1.
        public let weights: [Double]
    }

    /// Weights every value by the softmax of its key's cosine with `query`, scaled by
    /// `sharpness`: 0 weighs all values equally (their plain majority), large values pick the
    /// best-matching key's value. Cosines lie in −1…1, so at d = 4096 a `sharpness` of about 50
    /// already separates a matching key (cos ≈ 1) from unrelated ones (cos ≈ 0) by e⁵⁰.
    public static func attend(_ query: Hypervector, keys: [Hypervector], values: [Hypervector], sharpness: Double) -> Result {
        precondition(!keys.isEmpty && keys.count == values.count,
                     "Attention.attend: \(keys.count) keys and \(values.count) values (need equal, non-zero counts)")
        let scores = keys.map { sharpness * Similarity.cosine(query, $0) }
        let top = scores.max()!
        // Subtract the maximum before exponentiating so large sharpness cannot overflow.
        let e = scores.map { Math.exp($0 - top) }
        let total = e.reduce(0, +)
        let weights = e.map { $0 / total }
        var acc = Accumulator(dimension: query.dimension)
        for (v, w) in zip(values, weights) { acc.add(v, weight: w) }
        return Result(vector: acc.thresholded(), weights: weights)
    }
}
