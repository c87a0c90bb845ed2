import CHolonKernels

/// A running weighted sum of hypervectors in `Float` lanes: the "memory" of a stream.
///
/// Invariants: `sums.count == dimension`; `weight` is the sum of the weights added, decayed by the
/// same factors as `sums`, so `sums / weight` is the weighted mean vector; `count` counts the
/// vectors added (never decayed). Time decay is driven by the caller's timestamps (nanoseconds),
/// never by a wall clock, so replaying a capture gives the same numbers as living through it.
///
/// Stored as `Float` lanes times one `Double` scale (``withLanes(_:)``): decaying multiplies the
/// scale alone (no pass over the lanes), and the lanes are rescaled by a power of two, exactly,
/// only when what is added would take them out of a comfortable range. Lanes decayed in place
/// sank to where their squares underflow `Float` and a cosine read 0 or noise (a quiet stream's
/// memory looked unlike anything); now every view holds down to `Double`'s range, past which
/// (a scale under 2⁻⁹⁶⁰) the content is forgotten whole.
public struct Accumulator: Sendable {
    public let dimension: Int
    /// The lanes: `sums = lanes × scale`. Their magnitudes stay at most 2⁴⁰ (see ``factor(adding:times:)``).
    private var lanes: [Float]
    /// What one lane unit weighs (> 0).
    private var scale: Double = 1
    /// An upper bound of `max |lanes|` (the magnitudes added since the last rescale).
    private(set) var peak: Double = 0
    /// Sum of weights added, decayed with the sums.
    public private(set) var weight: Double = 0
    /// Vectors added.
    public private(set) var count: Int = 0
    /// Timestamp (ns) the decay has been applied up to, set by ``decay(to:halfLife:)``.
    public private(set) var clock: UInt64?

    public init(dimension: Int) {
        precondition(dimension > 0, "Accumulator dimension must be positive, got \(dimension)")
        self.dimension = dimension
        self.lanes = [Float](repeating: 0, count: dimension)
    }

    /// The weighted sums, lane by lane (a copy: ``withLanes(_:)`` reads them in place).
    public var sums: [Float] {
        let s = scale
        return lanes.map { Float(Double($0) * s) }
    }

    /// The sums in place, as `lanes × scale`: `body` gets the lanes and the scale (> 0). The
    /// lanes are at most 2⁴⁰ in magnitude and rescaled to about 1 when an addition would take
    /// them past it or fall below `Float`'s normal range, so the squares of the lanes that
    /// matter neither underflow nor overflow; a view that is a ratio (a cosine) can use them alone.
    public func withLanes<R>(_ body: (UnsafeBufferPointer<Float>, Double) throws -> R) rethrows -> R {
        try lanes.withUnsafeBufferPointer { try body($0, scale) }
    }

    // MARK: Adding

    public mutating func add(_ v: Hypervector) { add(v, weight: 1) }

    /// `sums += weight · v`. No allocation.
    public mutating func add(_ v: Hypervector, weight w: Double) {
        addToSums(v, scale: w)
        weight += w
        count += 1
    }

    /// `sums += s · v` without counting `v` as an added vector.
    mutating func addToSums(_ v: Hypervector, scale s: Double) {
        precondition(v.dimension == dimension, "Accumulator: dimension \(v.dimension), expected \(dimension)")
        let d = dimension
        withMutableLanes(adding: s, times: 1) { l, f in v.withPlanes { holon_acc_add(l, $0, v.wordCount, d, f) } }
    }

    /// Direct access for batch adders (``LaneCounter``, ``merge(_:scaledBy:)``): they add
    /// `f × x` to the lanes, where `f` is the factor for weight `w` in lane units, with every
    /// `|x| ≤ times`, then report what they added with ``recordAdded(count:weight:)``.
    mutating func withMutableLanes(adding w: Double, times: Double, _ body: (UnsafeMutablePointer<Float>, Float) -> Void) {
        let f = factor(adding: w, times: times)
        lanes.withUnsafeMutableBufferPointer { body($0.baseAddress!, f) }
    }

    /// Lane access that adds nothing (sign flips, zeroing).
    mutating func withMutableLanes(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        lanes.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    mutating func recordAdded(count n: Int, weight w: Double) {
        count += n
        weight += w
    }

    /// The lane factor for adding weight `w` to lanes, `times` at most in each: the lanes are
    /// rescaled first when the sum could leave `Float`'s comfortable range (over 2⁴⁰), or when
    /// the factor itself is below it (what is added would be lost, or subnormal: after the
    /// rescale it still is only when it is below `Float`'s precision of what is held).
    private mutating func factor(adding w: Double, times: Double) -> Float {
        // Nothing is added (and a huge f times 0 lanes is NaN).
        guard w != 0 && times > 0 else { return 0 }
        var f = w / scale
        let added = abs(f) * times
        if peak == 0 || !added.isFinite {
            // Empty lanes, or what they hold is past `Double`'s range below what comes (and
            // forgotten): the scale is free; set to what is added, lanes then ±1-ish.
            if peak != 0 { forget() }
            scale = Self.powerOfTwo(atLeast: abs(w))
            f = w / scale
        } else if peak + added > 0x1p40 || abs(f) < Double(Float.leastNormalMagnitude) {
            rescale(toInclude: added)
            f = w / scale
        }
        peak += abs(f) * times
        return Float(f)
    }

    /// Rescales the lanes by a power of two so the largest of them, or `incoming` (in lane
    /// units), is about 1; lanes that fall below `Float`'s normal range go to 0 (they are less
    /// than 2⁻¹²⁶ of what the accumulator holds).
    private mutating func rescale(toInclude incoming: Double = 0) {
        let m = Double(lanes.withUnsafeBufferPointer { holon_f32_max_abs($0.baseAddress!, dimension) })
        let target = max(m, incoming)
        guard target > 0 else {
            peak = 0
            return
        }
        let p = Self.powerOfTwo(atLeast: target)
        // 1/p may be past Float's range (tiny lanes made large): in steps of 2¹⁰⁰, each exact.
        var r = 1 / p
        lanes.withUnsafeMutableBufferPointer { l in
            while r > 0x1p100 {
                holon_f32_scale(l.baseAddress!, dimension, 0x1p100)
                r /= 0x1p100
            }
            holon_f32_scale(l.baseAddress!, dimension, Float(r))
        }
        scale *= p
        peak = m / p
    }

    /// The least power of two `≥ x` (x > 0).
    static func powerOfTwo(atLeast x: Double) -> Double {
        let p = Double(sign: .plus, exponent: x.exponent, significand: 1)
        return p < x ? p * 2 : p
    }

    /// Adds another accumulator's sums, weight and count (e.g. per-thread partials).
    public mutating func merge(_ other: Accumulator) {
        merge(other, scaledBy: 1)
    }

    /// Replaces the sums (as read back from a file): lanes rescaled to the comfortable range.
    mutating func load(sums: [Float]) {
        precondition(sums.count == dimension, "Accumulator: \(sums.count) sums for dimension \(dimension)")
        lanes = sums
        scale = 1
        rescale()
    }

    // MARK: Decay

    /// Multiplies sums and weight by `factor` (0…1): older content fades. Constant time: the
    /// scale moves, not the lanes. Faded past `Double`'s range (the scale below 2⁻⁹⁶⁰), the
    /// content is forgotten: weight and sums 0, as after ``reset()`` (the count stays).
    public mutating func decay(by factor: Double) {
        precondition(factor >= 0 && factor <= 1, "Accumulator.decay: factor \(factor) is outside 0...1")
        scale *= factor
        weight *= factor
        if scale < 0x1p-960 {
            forget()
            weight = 0
        }
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
        forget()
        weight = 0
        count = 0
    }

    /// The sums to 0, weight and count kept.
    mutating func zeroSums() { forget() }

    /// Lanes to 0 and the scale back to 1.
    private mutating func forget() {
        for i in lanes.indices { lanes[i] = 0 }
        scale = 1
        peak = 0
    }

    // MARK: Views

    /// The weighted mean vector `sums / weight` (all zeros when empty).
    public var normalized: [Float] {
        guard weight != 0 else { return [Float](repeating: 0, count: dimension) }
        let f = scale / weight
        return lanes.map { Float(Double($0) * f) }
    }

    /// `sign(sums)` with lanes whose magnitude is `<= threshold` set to 0.
    public func thresholded(above threshold: Double = 0) -> Hypervector {
        var out = Hypervector(dimension: dimension)
        let d = dimension
        // In lane units; past `Float`'s range it is +inf, and no lane is above it.
        let t = Float(threshold / scale)
        lanes.withUnsafeBufferPointer { s in
            out.withMutablePlanes { holon_threshold(s.baseAddress!, d, t, $0, (d + 63) / 64) }
        }
        return out
    }

    // MARK: Queries

    /// `Σ sumsᵢ vᵢ`.
    public func dot(_ v: Hypervector) -> Double {
        scale * laneDot(v)
    }

    /// `Σ lanesᵢ vᵢ`: the dot in lane units.
    func laneDot(_ v: Hypervector) -> Double {
        precondition(v.dimension == dimension, "Accumulator.dot: dimension \(v.dimension), expected \(dimension)")
        let d = dimension
        return lanes.withUnsafeBufferPointer { s in v.withPlanes { holon_acc_dot(s.baseAddress!, $0, v.wordCount, d) } }
    }

    /// Cosine between the sums and `v`.
    public func cosine(_ v: Hypervector) -> Double {
        let n = laneNorm
        let nv = Double(v.nonZeroCount).squareRoot()
        return n == 0 || nv == 0 ? 0 : laneDot(v) / (n * nv)
    }

    /// Cosine between two accumulators' sums (0 when either is empty).
    public func cosine(_ other: Accumulator) -> Double {
        cosine(other, otherNorm: other.norm)
    }

    /// Cosine with an accumulator whose norm (``norm``) the caller already knows (one pass over
    /// both).
    public func cosine(_ other: Accumulator, otherNorm: Double) -> Double {
        precondition(other.dimension == dimension, "Accumulator.cosine: dimension \(other.dimension), expected \(dimension)")
        let n = dimension
        var dot = 0.0, selfSquared = 0.0
        lanes.withUnsafeBufferPointer { a in
            other.lanes.withUnsafeBufferPointer { b in holon_f32_dot_norm(a.baseAddress!, b.baseAddress!, n, &dot, &selfSquared) }
        }
        // sums·other = scale · other.scale · (lanes·other.lanes); ‖sums‖ = scale · ‖lanes‖.
        let d = selfSquared.squareRoot() * otherNorm
        return d == 0 ? 0 : other.scale * dot / d
    }

    /// Euclidean norm of the sums.
    public var norm: Double { scale * laneNorm }

    /// Euclidean norm of the lanes.
    var laneNorm: Double {
        let n = dimension
        return lanes.withUnsafeBufferPointer { holon_f32_dot($0.baseAddress!, $0.baseAddress!, n) }.squareRoot()
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
