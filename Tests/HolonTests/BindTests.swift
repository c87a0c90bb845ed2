import Testing
import Holon

/// The bind kernel works in 512-bit blocks with a word-by-word tail and may write over its
/// inputs; these hold it to the lane-wise definition at every shape it takes.
@Suite struct BindTests {
    /// Ternary vectors with about a third of each value, from a seed.
    func ternary(_ d: Int, seed: UInt64) -> Hypervector {
        var rng = Xoshiro256(seed: seed)
        return Hypervector(values: (0..<d).map { _ in Int(rng.next() % 3) - 1 })
    }

    @Test(arguments: [1, 63, 64, 100, 511, 512, 513, 1000, 4096, 4097])
    func bindIsTheLanewiseProduct(d: Int) {
        let a = ternary(d, seed: UInt64(d)), b = ternary(d, seed: UInt64(d) + 1)
        let expected = Hypervector(values: zip(a.values, b.values).map { Int($0) * Int($1) })
        #expect(Hypervector.bind(a, b) == expected)
        var into = Hypervector(dimension: d)
        Hypervector.bind(a, b, into: &into)
        #expect(into == expected)
        // In place: the output is the first input's own storage.
        var inPlace = a
        inPlace.formBind(b)
        #expect(inPlace == expected)
        // The same vector on both sides: every non-zero lane becomes +1.
        var square = b
        square.formBind(b)
        #expect(square == Hypervector(values: b.values.map { Int($0) * Int($0) }))
        // A shared output is copied, not written through.
        var shared = a
        let before = a
        Hypervector.bind(a, b, into: &shared)
        #expect(a == before && shared == expected)
    }
}
