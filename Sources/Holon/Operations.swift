import CHolonKernels

// The algebra. Every operation has an allocating form (returns a new vector) and an `into:` form
// that writes into a caller's vector so hot paths allocate nothing.

extension Hypervector {
    @inlinable func checkSameDimension(_ other: Hypervector, _ op: StaticString) {
        precondition(dimension == other.dimension,
                     "\(op): dimensions differ (\(dimension) vs \(other.dimension))")
    }

    // MARK: Bind

    /// Elementwise product `a ⊙ b`. Exact and self-inverse for bipolar vectors:
    /// `bind(bind(a, b), b) == a`.
    @inlinable public static func bind(_ a: Hypervector, _ b: Hypervector) -> Hypervector {
        var out = Hypervector(unfilledDimension: a.dimension)   // the kernel writes every word
        bind(a, b, into: &out)
        return out
    }

    /// `out = a ⊙ b` without allocating (when `out` is uniquely referenced).
    @inlinable public static func bind(_ a: Hypervector, _ b: Hypervector, into out: inout Hypervector) {
        a.checkSameDimension(b, "bind")
        a.checkSameDimension(out, "bind")
        out.makeUnique()
        withExtendedLifetime((a, b)) {
            holon_bind(a.storage.words, b.storage.words, out.storage.words, a.wordCount)
        }
    }

    /// `self = self ⊙ other`.
    @inlinable public mutating func formBind(_ other: Hypervector) {
        checkSameDimension(other, "bind")
        makeUnique()
        withExtendedLifetime(other) {
            holon_bind(storage.words, other.storage.words, storage.words, wordCount)
        }
    }

    /// Unbinding is binding: bipolar keys are their own inverse.
    @inlinable public static func unbind(_ bound: Hypervector, _ key: Hypervector) -> Hypervector {
        bind(bound, key)
    }

    // MARK: Bundle

    /// Elementwise majority: `sign(Σ v)`, 0 where the sum is 0. Empty input gives the zero vector.
    public static func bundle(_ vectors: [Hypervector]) -> Hypervector {
        precondition(!vectors.isEmpty, "bundle: needs at least one vector (the dimension comes from them)")
        var out = Hypervector(dimension: vectors[0].dimension)
        bundle(vectors, into: &out)
        return out
    }

    /// `out = sign(Σ vectors)` without allocating beyond a small pointer array on the stack.
    public static func bundle(_ vectors: [Hypervector], into out: inout Hypervector) {
        for v in vectors { out.checkSameDimension(v, "bundle") }
        out.makeUnique()
        withUnsafeTemporaryAllocation(of: UnsafePointer<UInt64>?.self, capacity: vectors.count) { ptrs in
            for (i, v) in vectors.enumerated() { ptrs[i] = UnsafePointer(v.storage.words) }
            withExtendedLifetime(vectors) {
                holon_bundle(ptrs.baseAddress, vectors.count, out.wordCount, out.storage.words)
            }
        }
    }

    /// Weighted majority: `sign(Σ wᵢ vᵢ)`, 0 where the weighted sum is exactly 0.
    public static func bundle(_ vectors: [Hypervector], weights: [Double]) -> Hypervector {
        precondition(vectors.count == weights.count, "bundle: \(vectors.count) vectors but \(weights.count) weights")
        precondition(!vectors.isEmpty, "bundle: needs at least one vector")
        var acc = Accumulator(dimension: vectors[0].dimension)
        for (v, w) in zip(vectors, weights) { acc.add(v, weight: w) }
        return acc.thresholded()
    }

    // MARK: Permute

    /// Cyclic shift of the lanes by `shift` (negative shifts rotate the other way). Used to mark
    /// position: `permuted(by: i)` of a list element is nearly orthogonal to the element.
    public func permuted(by shift: Int) -> Hypervector {
        let d = dimension
        let s = ((shift % d) + d) % d
        if s == 0 { return self }
        let out = Hypervector(unfilledDimension: d)   // the rotation writes every word
        withExtendedLifetime(self) {
            holon_rotate_plane(storage.words, out.storage.words, d, s)
            holon_rotate_plane(storage.words + wordCount, out.storage.words + wordCount, d, s)
        }
        return out
    }

    /// Inverse of ``permuted(by:)``.
    public func unpermuted(by shift: Int) -> Hypervector { permuted(by: -shift) }

    // MARK: Sign and combination

    /// Elementwise negation `−v`.
    public func negated() -> Hypervector {
        var out = self
        out.makeUnique()
        let w = wordCount
        for i in 0..<w { out.storage.words[i] ^= out.storage.words[w + i] }
        return out
    }

    /// `sign(to − from)`: what `to` has that `from` has not. Zero where the two agree.
    public static func difference(from: Hypervector, to: Hypervector) -> Hypervector {
        from.checkSameDimension(to, "difference")
        var acc = Accumulator(dimension: to.dimension)
        acc.add(to)
        acc.add(from, weight: -1)
        return acc.thresholded()
    }

    /// Removes a component from a superposition: `sign(superposition − component)`.
    public static func negate(_ superposition: Hypervector, removing component: Hypervector) -> Hypervector {
        difference(from: component, to: superposition)
    }

    /// Strengthens a component in a superposition: `sign(base + factor · component)`.
    public static func amplify(_ base: Hypervector, _ component: Hypervector, factor: Double) -> Hypervector {
        base.checkSameDimension(component, "amplify")
        var acc = Accumulator(dimension: base.dimension)
        acc.add(base)
        acc.add(component, weight: factor)
        return acc.thresholded()
    }

    /// Takes each lane from `b` with probability `fraction` (a fixed pseudo-random subset chosen
    /// by `seed`), otherwise from `a`: for bipolar inputs, similarity to `b` grows linearly with
    /// `fraction` and the result stays bipolar.
    public static func blend(_ a: Hypervector, _ b: Hypervector, fraction: Double, seed: UInt64 = 0) -> Hypervector {
        a.checkSameDimension(b, "blend")
        precondition((0...1).contains(fraction), "blend: fraction \(fraction) is outside 0...1")
        var out = a
        out.makeUnique()
        let w = a.wordCount
        var rng = Xoshiro256(seed: StableHash.fmix64(seed ^ 0x626C_656E_64))
        let cut = fraction >= 1 ? UInt64.max : UInt64(fraction * 0x1p64)
        for i in 0..<a.dimension {
            let takeB = fraction >= 1 || rng.next() < cut
            guard takeB else { continue }
            let word = i >> 6, bit = UInt64(1) << UInt64(i & 63)
            for plane in 0..<2 {
                let o = plane * w + word
                out.storage.words[o] = (out.storage.words[o] & ~bit) | (b.storage.words[o] & bit)
            }
        }
        return out
    }

    /// Majority with a threshold: a lane keeps the majority sign only when at least `agreement`
    /// (0…1) of the vectors carry it net of disagreement (`|Σ v| ≥ agreement · count`); else 0.
    public static func prototype(_ vectors: [Hypervector], agreement: Double) -> Hypervector {
        precondition(!vectors.isEmpty, "prototype: needs at least one vector")
        precondition((0...1).contains(agreement), "prototype: agreement \(agreement) is outside 0...1")
        var acc = Accumulator(dimension: vectors[0].dimension)
        for v in vectors { acc.add(v) }
        // Strictly above threshold - half a vote, so integer sums equal to the threshold pass.
        let t = Swift.max(0, agreement * Double(vectors.count) - 0.5)
        return acc.thresholded(above: t)
    }
}
