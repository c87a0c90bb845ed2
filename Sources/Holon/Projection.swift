import CHolonKernels

// Projection and rejection in the real space of an accumulator's sums: how much of a direction a
// memory holds, and the memory with that direction taken out (e.g. a known traffic pattern
// removed from a mix so what remains can be examined). They act on sums, not on thresholded
// hypervectors: in a ±1 vector x, x − c·u with |c| < 1 never changes a sign, so rejecting from
// a bundle would give the bundle back.

extension Accumulator {
    /// The coefficient `c` of the least-squares fit `sums ≈ c · v`: `(sums · v) / (v · v)`,
    /// where `v · v` is the number of non-zero lanes of `v`. 0 for the zero vector.
    public func projectionCoefficient(onto v: Hypervector) -> Double {
        let nnz = v.nonZeroCount
        return nnz == 0 ? 0 : dot(v) / Double(nnz)
    }

    /// The component of the sums along `v`: `c · v` (weight and count are kept).
    public func projected(onto v: Hypervector) -> Accumulator {
        let c = projectionCoefficient(onto: v)
        var out = self
        out.zeroSums()
        out.addToSums(v, scale: c)
        return out
    }

    /// The sums with their component along `v` removed: `sums − c · v`, orthogonal to `v`
    /// (weight and count are kept).
    public func rejected(from v: Hypervector) -> Accumulator {
        var out = self
        out.addToSums(v, scale: -projectionCoefficient(onto: v))
        return out
    }
}
