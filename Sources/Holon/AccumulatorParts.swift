import CHolonKernels

/// An accumulator taken apart and put back together: what a saved detector baseline needs, and
/// the weighted merge that lets a baseline adapt slowly (new content mixed in at a small share).
extension Accumulator {
    /// Rebuilds an accumulator from its sums, weight and count (as read back from a file).
    /// The clock is not restored: it is the caller's packet time, which a new run starts afresh.
    public init(dimension: Int, sums: [Float], weight: Double, count: Int) {
        self.init(dimension: dimension)
        load(sums: sums)
        recordAdded(count: count, weight: weight)
    }

    /// Adds `factor ×` another accumulator's sums and weight (its count is added unscaled: it
    /// counts vectors, not weight).
    public mutating func merge(_ other: Accumulator, scaledBy factor: Double) {
        precondition(other.dimension == dimension, "Accumulator.merge: dimension \(other.dimension), expected \(dimension)")
        let n = dimension
        other.withLanes { src, otherScale in
            withMutableLanes(adding: factor * otherScale, times: other.peak) { holon_f32_axpy($0, src.baseAddress!, n, $1) }
        }
        recordAdded(count: other.count, weight: other.weight * factor)
    }
}
