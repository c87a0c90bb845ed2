// Similarities beyond cosine, dot and Hamming, for ternary vectors whose zero lanes carry meaning
// (abstention in a bundle, lanes a sparse code leaves out).

extension Similarity {
    /// The overlap coefficient of the supports: `|supp a ∩ supp b| / min(|supp a|, |supp b|)`,
    /// in 0…1. 1 when one support contains the other (a sparsified vector and its source);
    /// ignores signs. 0 when either vector is zero.
    public static func overlap(_ a: Hypervector, _ b: Hypervector) -> Double {
        let c = counts(a, b)
        let smaller = Swift.min(c.0, c.1)
        return smaller == 0 ? 0 : Double(c.2) / Double(smaller)
    }

    /// The fraction of all lanes on which the two vectors hold the same value (−1, 0 or +1),
    /// in 0…1. Unlike cosine it counts shared zeros as agreement: two sparse vectors that
    /// abstain in the same places agree even where neither votes. ½ for independent dense
    /// vectors.
    public static func agreement(_ a: Hypervector, _ b: Hypervector) -> Double {
        let c = counts(a, b)
        let union = c.0 + c.1 - c.2
        let bothZero = Int64(a.dimension) - union
        let sameSign = c.2 - c.3
        return Double(bothZero + sameSign) / Double(a.dimension)
    }

    /// Cosine with a non-negative weight per lane: `Σ wⱼaⱼbⱼ / √(Σ wⱼaⱼ² · Σ wⱼbⱼ²)`; lanes that
    /// matter more (e.g. ones a detector found informative) count more. Equal weights give
    /// ``cosine(_:_:)``. 0 when either weighted norm is 0.
    public static func weightedCosine(_ a: Hypervector, _ b: Hypervector, weights: [Float]) -> Double {
        a.checkSameDimension(b, "weightedCosine")
        precondition(weights.count == a.dimension, "weightedCosine: \(weights.count) weights for dimension \(a.dimension)")
        var ab = 0.0, aa = 0.0, bb = 0.0
        let w = a.wordCount
        a.withPlanes { pa in
            b.withPlanes { pb in
                for word in 0..<w {
                    let ma = pa[w + word], mb = pb[w + word]
                    var any = ma | mb
                    while any != 0 {
                        let bit = any.trailingZeroBitCount
                        any &= any - 1
                        let weight = Double(weights[word << 6 | bit])
                        precondition(weight >= 0, "weightedCosine: weights must be non-negative")
                        let x = Self.lane(pa, w, word, bit), y = Self.lane(pb, w, word, bit)
                        ab += weight * Double(x * y)
                        aa += weight * Double(x * x)
                        bb += weight * Double(y * y)
                    }
                }
            }
        }
        let norm = (aa * bb).squareRoot()
        return norm == 0 ? 0 : ab / norm
    }

    @inline(__always)
    static func lane(_ p: UnsafePointer<UInt64>, _ w: Int, _ word: Int, _ bit: Int) -> Int {
        let m = UInt64(1) << UInt64(bit)
        if p[w + word] & m == 0 { return 0 }
        return p[word] & m == 0 ? 1 : -1
    }
}
