extension Hypervector {
    /// The lanes of `v` that agree with `reference` (both non-zero, same sign); 0 elsewhere.
    ///
    /// Filters a superposition down to what a known pattern supports: for `v = bundle(a, b, c)`
    /// of dense vectors, `resonance(v, a)` keeps the ¾ of the lanes where `a` won the vote, so
    /// its cosine with `a` rises from 0.5 to √¾ ≈ 0.87 while unrelated vectors stay near 0.
    public static func resonance(_ v: Hypervector, _ reference: Hypervector) -> Hypervector {
        v.checkSameDimension(reference, "resonance")
        let out = Hypervector(dimension: v.dimension)
        let w = v.wordCount
        withExtendedLifetime((v, reference)) {
            let a = v.storage.words, r = reference.storage.words, o = out.storage.words
            for i in 0..<w {
                let agree = a[w + i] & r[w + i] & ~(a[i] ^ r[i])
                o[i] = a[i] & agree
                o[w + i] = agree
            }
        }
        return out
    }
}
