extension Hypervector {
    /// "`a` is to `b` as `c` is to ?": the map that takes `a` to `b` is `a ⊙ b` (binding is its
    /// own inverse for dense vectors), applied to `c`: `c ⊙ a ⊙ b`.
    ///
    /// Exact for dense atoms (`analogy(a, b, a) == b`). On records it answers relational
    /// queries: with `usa = bundle(name⊙US, capital⊙DC, money⊙dollar)` and `mexico` alike,
    /// `analogy(usa, mexico, dollar)` is closest to `peso` among the atoms (Kanerva's "dollar of
    /// Mexico").
    public static func analogy(_ a: Hypervector, _ b: Hypervector, _ c: Hypervector) -> Hypervector {
        var out = bind(a, b)
        out.formBind(c)
        return out
    }
}
