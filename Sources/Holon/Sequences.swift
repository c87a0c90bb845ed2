/// Encodings of ordered sequences of hypervectors. Order is carried by the cyclic permutation
/// ``Hypervector/permuted(by:)`` (written ρ), which is nearly orthogonal to its input and does not
/// commute with binding's argument order the way a plain product does.
///
/// Three encodings, for three questions:
/// - ``positional(_:)`` — "what is at position i?": `Σᵢ ρⁱ(xᵢ)` bundled. Every item stays
///   decodable (``item(at:in:)`` then a clean-up) until the bundle holds too many; sequences that
///   share items at the same positions are similar in proportion.
/// - ``ngrams(_:n:)`` — "which local patterns occur?": the bundle of every window of `n` items,
///   each window a ``chained(_:)`` product. Similar texts share windows, so similarity degrades
///   gracefully with edits, and the order inside each window counts.
/// - ``chained(_:)`` — "this exact sequence": `ρⁿ⁻¹(x₀) ⊙ ρⁿ⁻²(x₁) ⊙ … ⊙ xₙ₋₁`, one exact
///   bipolar vector. A product of *unpermuted* items is commutative (`a ⊙ b = b ⊙ a`), so it
///   cannot tell "ab" from "ba"; permuting by distance from the end makes every reordering a
///   nearly orthogonal vector. It extends by ``appending(_:to:)`` and gives its last item back
///   exactly with ``last(of:after:)``, but two chains that differ in any item are unrelated.
public enum Sequences {
    // MARK: Positional

    /// `bundle(ρ⁰(x₀), ρ¹(x₁), …)`: ternary majority, 0 on ties.
    public static func positional(_ items: [Hypervector]) -> Hypervector {
        precondition(!items.isEmpty, "Sequences.positional: needs at least one item")
        return Hypervector.bundle(items.enumerated().map { $1.permuted(by: $0) })
    }

    /// A noisy copy of the item at `position` of a positional sequence (`ρ⁻ⁱ(sequence)`): compare
    /// it with the candidates (``Codebook/cleanup(_:top:)-(Hypervector,_)``) to name the item.
    public static func item(at position: Int, in sequence: Hypervector) -> Hypervector {
        sequence.unpermuted(by: position)
    }

    // MARK: Chained

    /// `ρⁿ⁻¹(x₀) ⊙ … ⊙ ρ(xₙ₋₂) ⊙ xₙ₋₁`, built as `s ← ρ(s) ⊙ x`. Exact: for dense items the
    /// result is dense, and any reordering of distinct items gives a nearly orthogonal vector.
    public static func chained(_ items: some Collection<Hypervector>) -> Hypervector {
        precondition(!items.isEmpty, "Sequences.chained: needs at least one item")
        var s = items.first!
        for x in items.dropFirst() { s = appending(x, to: s) }
        return s
    }

    /// The chain of the sequence with `item` added at the end: `ρ(chain) ⊙ item`.
    public static func appending(_ item: Hypervector, to chain: Hypervector) -> Hypervector {
        var s = chain.permuted(by: 1)
        s.formBind(item)
        return s
    }

    /// The last item of `chain`, given the chain of everything before it: `chain ⊙ ρ(prefix)`.
    /// Exact for dense (bipolar) items.
    public static func last(of chain: Hypervector, after prefix: Hypervector) -> Hypervector {
        Hypervector.bind(chain, prefix.permuted(by: 1))
    }

    // MARK: N-grams

    /// The bundle of the ``chained(_:)`` vectors of every window of `n` consecutive items. A
    /// sequence shorter than `n` is one window.
    public static func ngrams(_ items: [Hypervector], n: Int) -> Hypervector {
        precondition(n > 0, "Sequences.ngrams: n must be positive, got \(n)")
        precondition(!items.isEmpty, "Sequences.ngrams: needs at least one item")
        guard items.count > n else { return chained(items) }
        // Each window's product is ρⁿ⁻¹(x_j) ⊙ … ⊙ x_{j+n−1}; the permuted copies are shared
        // between windows, so each item is rotated n − 1 times in all rather than per window.
        let rotated: [[Hypervector]] = (0..<n).map { k in items.map { $0.permuted(by: k) } }
        var grams: [Hypervector] = []
        grams.reserveCapacity(items.count - n + 1)
        for j in 0...(items.count - n) {
            var g = rotated[n - 1][j]
            for k in 1..<n { g.formBind(rotated[n - 1 - k][j + k]) }
            grams.append(g)
        }
        return Hypervector.bundle(grams)
    }
}
