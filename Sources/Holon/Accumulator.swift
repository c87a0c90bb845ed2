import CHolonKernels

/// A running weighted sum of hypervectors in `Float` lanes: the "memory" of a stream.
///
/// Invariants: `sums.count == dimension`; `weight` is the sum of the weights added, decayed by the
/// same factors as `sums`, so `sums / weight` is the weighted mean vector; `count` counts the
/// vectors added (never decayed). Time decay is driven by the caller's timestamps (nanoseconds),
/// never by a wall clock, so replaying a capture gives the same numbers as living through it.
public struct Accumulator: Sendable {
    public let dimension: Int
    public private(set) var sums: [Float]
    /// Sum of weights added, decayed with the sums.
    public private(set) var weight: Double = 0
    /// Vectors added.
    public private(set) var count: Int = 0
    /// Timestamp (ns) the decay has been applied up to, set by ``decay(to:halfLife:)``.
    public private(set) var clock: UInt64?

    public init(dimension: Int) {
        precondition(dimension > 0, "Accumulator dimension must be positive, got \(dimension)")
        self.dimension = dimension
        self.sums = [Float](repeating: 0, count: dimension)
    }

    // MARK: Adding

    public mutating func add(_ v: Hypervector) { add(v, weight: 1) }

    /// `sums += weight · v`. No allocation.
    public mutating func add(_ v: Hypervector, weight w: Double) {
        precondition(v.dimension == dimension, "Accumulator.add: dimension \(v.dimension), expected \(dimension)")
        let d = dimension
        sums.withUnsafeMutableBufferPointer { s in
            v.withPlanes { holon_acc_add(s.baseAddress!, $0, v.wordCount, d, Float(w)) }
        }
        weight += w
        count += 1
    }

    /// Direct access for batch adders (``LaneCounter``); they report what they added with
    /// ``recordAdded(count:weight:)``.
    mutating func withMutableSums(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        sums.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    mutating func recordAdded(count n: Int, weight w: Double) {
        count += n
        weight += w
    }

    /// Adds another accumulator's sums, weight and count (e.g. per-thread partials).
    public mutating func merge(_ other: Accumulator) {
        precondition(other.dimension == dimension, "Accumulator.merge: dimension \(other.dimension), expected \(dimension)")
        let n = dimension
        sums.withUnsafeMutableBufferPointer { s in
            other.sums.withUnsafeBufferPointer { holon_f32_axpy(s.baseAddress!, $0.baseAddress!, n, 1) }
        }
        weight += other.weight
        count += other.count
    }

    // MARK: Decay

    /// Multiplies sums and weight by `factor` (0…1): older content fades.
    public mutating func decay(by factor: Double) {
        precondition(factor >= 0 && factor <= 1, "Accumulator.decay: factor \(factor) is outside 0...1")
        let n = dimension
        sums.withUnsafeMutableBufferPointer { holon_f32_scale($0.baseAddress!, n, Float(factor)) }
        weight *= factor
    }

    /// Decays by `0.5^(elapsed / halfLife)` for the time since the last call, then sets the clock
    /// to `timestamp`. The first call only sets the clock. Timestamps going backwards are ignored
    /// (no decay), so slightly reordered samples are harmless.
    public mutating func decay(to timestamp: UInt64, halfLife: Duration) {
        defer { if clock == nil || timestamp > clock! { clock = timestamp } }
        guard let last = clock, timestamp > last else { return }
        let seconds = Double(timestamp - last) / 1e9
        let h = Double(halfLife.components.seconds) + Double(halfLife.components.attoseconds) / 1e18
        precondition(h > 0, "Accumulator.decay: half-life must be positive")
        decay(by: Math.exp2(-seconds / h))
    }

    /// Empties the accumulator (keeps the clock).
    public mutating func reset() {
        for i in sums.indices { sums[i] = 0 }
        weight = 0
        count = 0
    }

    // MARK: Views

    /// The weighted mean vector `sums / weight` (all zeros when empty).
    public var normalized: [Float] {
        guard weight != 0 else { return [Float](repeating: 0, count: dimension) }
        let f = Float(1 / weight)
        return sums.map { $0 * f }
    }

    /// `sign(sums)` with lanes whose magnitude is `<= threshold` set to 0.
    public func thresholded(above threshold: Double = 0) -> Hypervector {
        var out = Hypervector(dimension: dimension)
        let d = dimension
        sums.withUnsafeBufferPointer { s in
            out.withMutablePlanes { holon_threshold(s.baseAddress!, d, Float(threshold), $0, (d + 63) / 64) }
        }
        return out
    }

    // MARK: Queries

    /// `Σ sumsᵢ vᵢ`.
    public func dot(_ v: Hypervector) -> Double {
        precondition(v.dimension == dimension, "Accumulator.dot: dimension \(v.dimension), expected \(dimension)")
        let d = dimension
        return sums.withUnsafeBufferPointer { s in v.withPlanes { holon_acc_dot(s.baseAddress!, $0, v.wordCount, d) } }
    }

    /// Cosine between the sums and `v`.
    public func cosine(_ v: Hypervector) -> Double {
        let n = norm
        let nv = Double(v.nonZeroCount).squareRoot()
        return n == 0 || nv == 0 ? 0 : dot(v) / (n * nv)
    }

    /// Cosine between two accumulators' sums (0 when either is empty).
    public func cosine(_ other: Accumulator) -> Double {
        cosine(other, otherNorm: other.norm)
    }

    /// Cosine with an accumulator whose norm the caller already knows (one pass over both).
    public func cosine(_ other: Accumulator, otherNorm: Double) -> Double {
        precondition(other.dimension == dimension, "Accumulator.cosine: dimension \(other.dimension), expected \(dimension)")
        let n = dimension
        var dot = 0.0, selfSquared = 0.0
        sums.withUnsafeBufferPointer { a in
            other.sums.withUnsafeBufferPointer { b in holon_f32_dot_norm(a.baseAddress!, b.baseAddress!, n, &dot, &selfSquared) }
        }
        let d = selfSquared.squareRoot() * otherNorm
        return d == 0 ? 0 : dot / d
    }

    /// Euclidean norm of the sums.
    public var norm: Double {
        let n = dimension
        return sums.withUnsafeBufferPointer { holon_f32_dot($0.baseAddress!, $0.baseAddress!, n) }.squareRoot()
    }

    /// How strongly `atom` is present: the weighted mean over the added vectors of
    /// `(vᵢ · atom) / nnz(atom)`. 1 when every added vector equals the atom, ≈ 0 when unrelated,
    /// and linear in the share of vectors carrying it. For a packet bundled from `k` fields, a
    /// field present in every packet scores the bundle's agreement with its part (≈ 0.375 for k=5).
    public func presence(of atom: Hypervector) -> Double {
        guard weight != 0 else { return 0 }
        let nnz = atom.nonZeroCount
        return nnz == 0 ? 0 : dot(atom) / (weight * Double(nnz))
    }

    /// Presence of the role–filler pair `field = value` in `space`.
    public func presence(field: FieldName, value: AtomKey, in space: VectorSpace) -> Double {
        presence(of: space.pair(field, value))
    }
}
