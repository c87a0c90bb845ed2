extension Accumulator {
    /// The weighted centroid of `vectors`: an accumulator holding them, whose ``normalized``
    /// lanes are the weighted mean `Σ wᵢ vᵢ / Σ wᵢ` and whose ``thresholded(above:)`` is their
    /// (weighted) majority. Equal weights when `weights` is nil.
    public static func centroid(of vectors: [Hypervector], weights: [Double]? = nil) -> Accumulator {
        precondition(!vectors.isEmpty, "centroid: needs at least one vector")
        precondition(weights == nil || weights!.count == vectors.count,
                     "centroid: \(vectors.count) vectors but \(weights!.count) weights")
        var acc = Accumulator(dimension: vectors[0].dimension)
        for (i, v) in vectors.enumerated() { acc.add(v, weight: weights?[i] ?? 1) }
        return acc
    }
}
