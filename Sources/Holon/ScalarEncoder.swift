import CHolonKernels

/// Encodes magnitudes so that similarity falls off linearly and monotonically with distance, and
/// decodes a vector back to the value it is most similar to.
///
/// Construction ("flip levels"): a base atom `B` and a fixed pseudo-random order `π` of the lanes,
/// both from the space's seed. A value is mapped to a level `s`:
/// - linear / log: `s = round(t · L)` with `t ∈ [0, 1]` the position in the range (log10 for log)
///   and `L = dimension / 2`; the vector is `B` with the lanes `π(0..<s)` flipped. So
///   `cos(enc(x), enc(y)) = 1 − 2|sₓ − s_y| / dimension`: 1 for equal values, 0 across the range.
/// - circular: `s = round(phase · 2L) mod 2L`; levels `0…L` flip `π(0..<s)` as above,
///   levels `L…2L` flip `π(s−L..<L)` back, so the last level is again next to the first.
///
/// Resolution is one level: `range / (dimension / 2)` (linear), a factor of
/// `10^(decades / (dimension / 2))` (log: 0.56 % worst-case error over 10 decades at d = 4096),
/// `period / (2 · (dimension / 2))` (circular).
///
/// Decoding is exact for the encoder's own vectors and robust for bundles: because the flipped
/// lanes form a prefix of `π`, `q · enc(s) = q · B − 2 Σ_{j<s} q[π(j)] B[π(j)]`, so one prefix scan
/// scores every level and the best is taken.
///
/// Encoding copies the nearest of the checkpoint vectors kept every 64 levels and flips at most
/// 63 lanes.
public final class ScalarEncoder: @unchecked Sendable {
    public let dimension: Int
    /// Levels in a linear/log range: `dimension / 2`.
    public let levels: Int
    /// Levels around the circle: `2 · levels`.
    public var circularLevels: Int { 2 * levels }
    let base: Hypervector
    /// `order[j]` = the lane flipped at level `j + 1`.
    let order: [Int32]
    /// `checkpoints[c]` = the vector of circular level `64 c` (covers linear levels too).
    let checkpoints: [Hypervector]
    static let checkpointStride = 64

    public init(space: VectorSpace) {
        dimension = space.dimension
        levels = Swift.max(1, space.dimension / 2)
        base = space.atom(AtomKey.string("$scalar.base"))
        var rng = Xoshiro256(seed: AtomKey.string("$scalar.order").rawValue ^ StableHash.fmix64(space.seed))
        var order = (0..<space.dimension).map { Int32($0) }
        // Fisher–Yates with an unbiased bounded draw from the specified PRNG.
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            let j = Int(rng.next(upperBound: UInt64(i + 1)))
            order.swapAt(i, j)
        }
        self.order = order
        var cps: [Hypervector] = []
        var v = base
        var s = 0
        let circularLevels = 2 * levels
        while s < circularLevels {
            cps.append(v)
            for level in s..<Swift.min(s + Self.checkpointStride, circularLevels) {
                Self.toggle(&v, lane: Int(order[level % levels]))
            }
            s += Self.checkpointStride
        }
        self.checkpoints = cps
    }

    @inline(__always)
    static func toggle(_ v: inout Hypervector, lane: Int) {
        v.withMutablePlanes { p in p[lane >> 6] ^= UInt64(1) << UInt64(lane & 63) }
    }

    // MARK: Levels

    /// The level a value maps to under an encoding (clamped to the range).
    public func level(of value: Double, _ encoding: ScalarEncoding) -> Int {
        switch encoding {
        case .linear(let lo, let hi):
            let t = hi > lo ? (value - lo) / (hi - lo) : 0
            return Int((Swift.min(1, Swift.max(0, t.isNaN ? 0 : t)) * Double(levels)).rounded())
        case .log(let lo, let hi):
            precondition(lo > 0 && hi > lo, "log encoding needs 0 < lower < upper, got \(lo)...\(hi)")
            let v = value > 0 ? Math.log10(value) : -Double.infinity
            let t = (v - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
            return Int((Swift.min(1, Swift.max(0, t.isNaN ? 0 : t)) * Double(levels)).rounded())
        case .circular(let period):
            precondition(period > 0, "circular encoding needs a positive period, got \(period)")
            var phase = value.truncatingRemainder(dividingBy: period) / period
            if phase < 0 { phase += 1 }
            if phase.isNaN { phase = 0 }
            return Int((phase * Double(circularLevels)).rounded()) % circularLevels
        }
    }

    /// The value at the centre of a level.
    public func value(ofLevel s: Int, _ encoding: ScalarEncoding) -> Double {
        switch encoding {
        case .linear(let lo, let hi):
            return lo + (hi - lo) * Double(s) / Double(levels)
        case .log(let lo, let hi):
            let a = Math.log10(lo), b = Math.log10(hi)
            return Math.pow10(a + (b - a) * Double(s) / Double(levels))
        case .circular(let period):
            return period * Double(s) / Double(circularLevels)
        }
    }

    // MARK: Encode

    public func encode(_ value: Double, _ encoding: ScalarEncoding) -> Hypervector {
        var out = Hypervector(dimension: dimension)
        encode(value, encoding, into: &out)
        return out
    }

    /// Encodes into a caller's vector (no allocation when `out` is uniquely referenced).
    public func encode(_ value: Double, _ encoding: ScalarEncoding, into out: inout Hypervector) {
        precondition(out.dimension == dimension, "ScalarEncoder: output dimension \(out.dimension), expected \(dimension)")
        encode(level: level(of: value, encoding), into: &out)
    }

    /// The vector of circular level `s` (linear/log levels are its first half).
    public func encode(level s: Int, into out: inout Hypervector) {
        precondition(s >= 0 && s <= circularLevels, "ScalarEncoder: level \(s) outside 0...\(circularLevels)")
        let s = s == circularLevels ? 0 : s
        let c = s / Self.checkpointStride
        let cp = checkpoints[c]
        out.withMutablePlanes { p in
            cp.withPlanes { src in p.update(from: src, count: 2 * cp.wordCount) }
            for level in (c * Self.checkpointStride)..<s {
                let lane = Int(order[level % levels])
                p[lane >> 6] ^= UInt64(1) << UInt64(lane & 63)
            }
        }
    }

    // MARK: Decode

    /// The value whose encoding is most similar to `v`.
    public func decode(_ v: Hypervector, _ encoding: ScalarEncoding) -> Double {
        precondition(v.dimension == dimension, "ScalarEncoder.decode: dimension \(v.dimension), expected \(dimension)")
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: levels) { c in
            v.withPlanes { p in
                base.withPlanes { b in
                    let w = v.wordCount
                    for j in 0..<levels {
                        let lane = Int(order[j])
                        let word = lane >> 6, bit = UInt64(1) << UInt64(lane & 63)
                        let q: Float = p[w + word] & bit == 0 ? 0 : (p[word] & bit == 0 ? 1 : -1)
                        let bj: Float = b[word] & bit == 0 ? 1 : -1
                        c[j] = q * bj
                    }
                }
            }
            return value(ofLevel: bestLevel(contributions: c, baseDot: Double(Similarity.dot(v, base)), encoding), encoding)
        }
    }

    /// The value whose encoding is most similar to an accumulator's sums (e.g. a decayed mix of
    /// rate vectors).
    public func decode(_ acc: Accumulator, _ encoding: ScalarEncoding) -> Double {
        precondition(acc.dimension == dimension, "ScalarEncoder.decode: dimension \(acc.dimension), expected \(dimension)")
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: levels) { c in
            // In lane units (the sums over their one positive scale): the best level is the same.
            acc.withLanes { q, _ in
                base.withPlanes { b in
                    for j in 0..<levels {
                        let lane = Int(order[j])
                        let bj: Float = b[lane >> 6] & (UInt64(1) << UInt64(lane & 63)) == 0 ? 1 : -1
                        c[j] = q[lane] * bj
                    }
                }
            }
            return value(ofLevel: bestLevel(contributions: c, baseDot: acc.laneDot(base), encoding), encoding)
        }
    }

    /// Scores every level from the prefix sums of the per-lane contributions.
    func bestLevel(contributions c: UnsafeMutableBufferPointer<Float>, baseDot: Double, _ encoding: ScalarEncoding) -> Int {
        var best = 0
        if case .circular = encoding {
            // Level s ≤ L: base·q − 2·P(s). Level L + u: base·q − 2·(P(L) − P(u)).
            var prefix = 0.0
            var total = 0.0
            for j in 0..<levels { total += Double(c[j]) }
            var bestScore = -Double.infinity
            for s in 0...levels {
                if s > 0 { prefix += Double(c[s - 1]) }
                let first = baseDot - 2 * prefix
                if first > bestScore { bestScore = first; best = s }
                let u = s
                if u > 0 && u < levels {
                    let second = baseDot - 2 * (total - prefix)
                    if second > bestScore { bestScore = second; best = levels + u }
                }
            }
            return best % circularLevels
        }
        var scoreBest = 0.0
        return holon_prefix_argmax(c.baseAddress, levels, baseDot, &scoreBest)
    }
}
