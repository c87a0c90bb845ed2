import CHolonKernels

/// Similarity measures between hypervectors, and between an accumulator and a hypervector.
public enum Similarity {
    /// `Σ aᵢ bᵢ`.
    @inlinable public static func dot(_ a: Hypervector, _ b: Hypervector) -> Int {
        let c = counts(a, b)
        return Int(c.2 - 2 * c.3)
    }

    /// Cosine similarity in −1…1; 0 if either vector is zero.
    @inlinable public static func cosine(_ a: Hypervector, _ b: Hypervector) -> Double {
        let c = counts(a, b)
        guard c.0 > 0, c.1 > 0 else { return 0 }
        return Double(c.2 - 2 * c.3) / (Double(c.0) * Double(c.1)).squareRoot()
    }

    /// Normalised Hamming distance over lanes where both are non-zero, in 0…1 (0.5 = unrelated).
    public static func hamming(_ a: Hypervector, _ b: Hypervector) -> Double {
        let c = counts(a, b)
        return c.2 == 0 ? 0.5 : Double(c.3) / Double(c.2)
    }

    /// (nnz a, nnz b, common support, sign disagreements in the common support).
    @inlinable static func counts(_ a: Hypervector, _ b: Hypervector) -> (Int64, Int64, Int64, Int64) {
        a.checkSameDimension(b, "similarity")
        var out: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
        withExtendedLifetime((a, b)) {
            withUnsafeMutableBytes(of: &out) { raw in
                holon_dot_counts(a.storage.words, b.storage.words, a.wordCount,
                                 raw.baseAddress!.assumingMemoryBound(to: Int64.self))
            }
        }
        return out
    }
}
