extension Hypervector {
    /// Shannon entropy, in bits, of the distribution of lane values (−1, 0, +1): 0 for a
    /// constant vector, ≈ 1 for a dense random atom, log₂3 ≈ 1.585 at most (equal thirds). Low
    /// entropy flags degenerate vectors (a bundle that cancelled out, a saturated one).
    public var entropy: Double {
        let nonZero = nonZeroCount
        let negative = withPlanes { p in (0..<wordCount).reduce(0) { $0 + p[$1].nonzeroBitCount } }
        let counts = [negative, nonZero - negative, dimension - nonZero]
        let d = Double(dimension)
        return counts.reduce(0.0) { h, c in
            guard c > 0 else { return h }
            let p = Double(c) / d
            return h - p * Math.log2(p)
        }
    }
}
