import CHolonKernels

/// A thermometer code: a value at level `s` of `0…dimension` is +1 on lanes `0..<s` and −1 on
/// the rest, so `cos(enc(x), enc(y)) = 1 − 2|sₓ − s_y| / dimension` exactly: 1 for equal values,
/// −1 across the whole range (``ScalarEncoder``'s flip code reaches only 0 there, at half the
/// levels).
///
/// The code is not random-looking (it is the same for every seed), so bind it to a role atom
/// before bundling it with other fields; binding with a dense atom keeps every cosine.
/// Resolution is one level: `(upper − lower) / dimension`. Values outside the range are clamped.
public struct ThermometerEncoder: Sendable {
    public let dimension: Int
    public let lower: Double
    public let upper: Double

    public init(dimension: Int, lower: Double, upper: Double) {
        precondition(dimension > 0, "ThermometerEncoder: dimension must be positive")
        precondition(upper > lower, "ThermometerEncoder: needs lower < upper, got \(lower)...\(upper)")
        self.dimension = dimension
        self.lower = lower
        self.upper = upper
    }

    /// The level `round(t · dimension)` of a value at position `t ∈ [0, 1]` in the range.
    public func level(of value: Double) -> Int {
        let t = (value - lower) / (upper - lower)
        return Int((Swift.min(1, Swift.max(0, t.isNaN ? 0 : t)) * Double(dimension)).rounded())
    }

    /// The value at a level.
    public func value(ofLevel s: Int) -> Double {
        lower + (upper - lower) * Double(s) / Double(dimension)
    }

    public func encode(_ value: Double) -> Hypervector {
        encode(level: level(of: value))
    }

    /// The code of level `s`: whole words of +1 then whole words of −1, the boundary word split.
    public func encode(level s: Int) -> Hypervector {
        precondition(s >= 0 && s <= dimension, "ThermometerEncoder: level \(s) outside 0...\(dimension)")
        var out = Hypervector(dimension: dimension)
        let w = out.wordCount
        let d = dimension
        out.withMutablePlanes { p in
            for i in 0..<w {
                let lanes = Swift.min(64, d - 64 * i)
                let valid = lanes == 64 ? UInt64.max : (UInt64(1) << UInt64(lanes)) - 1
                let plus = Swift.max(0, Swift.min(64, s - 64 * i))
                let plusBits = plus == 64 ? UInt64.max : (UInt64(1) << UInt64(plus)) - 1
                p[w + i] = valid
                p[i] = valid & ~plusBits
            }
        }
        return out
    }

    /// The value whose code is most similar to `v` (exact for this encoder's own codes; for a
    /// noisy or bundled code, the level that best splits its lanes into +1s then −1s).
    public func decode(_ v: Hypervector) -> Double {
        value(ofLevel: decodeLevel(v))
    }

    /// `argmax_s Σ_{j<s} vⱼ − Σ_{j≥s} vⱼ`: one prefix scan over the lanes.
    public func decodeLevel(_ v: Hypervector) -> Int {
        precondition(v.dimension == dimension, "ThermometerEncoder.decode: dimension \(v.dimension), expected \(dimension)")
        let d = dimension
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: d) { c in
            var total = 0.0
            for j in 0..<d {
                let x = Float(v[j])
                c[j] = -x
                total += Double(x)
            }
            // holon_prefix_argmax maximises base − 2 Σ_{j<s} c_j = −total + 2 Σ_{j<s} vⱼ.
            var best = 0.0
            return holon_prefix_argmax(c.baseAddress, d, -total, &best)
        }
    }
}
