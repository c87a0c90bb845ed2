import Testing
@testable import Holon

@Suite struct HypervectorTests {
    let space = VectorSpace(dimension: 4096, seed: 42)

    @Test func atomsAreDeterministicAndBipolar() {
        let a = space.atom("proto")
        let b = VectorSpace(dimension: 4096, seed: 42).atom("proto")
        #expect(a == b)
        #expect(a.isBipolar)
        #expect(space.atom("proto") != space.atom("src_port"))
        #expect(VectorSpace(dimension: 4096, seed: 43).atom("proto") != a)
        #expect(space.atom(6) != space.atom("6"), "ints and strings are distinct atoms")
    }

    /// Pins the atom scheme: if this changes, every vector ever stored changes with it. The expected
    /// values come from an independent Python transcription of the scheme documented on
    /// `AtomKey`, `Xoshiro256` and `VectorSpace`.
    @Test func goldenAtoms() {
        func firstWords(_ v: Hypervector, _ n: Int) -> [UInt64] { v.withPlanes { p in (0..<n).map { p[$0] } } }
        #expect(AtomKey.string("proto").rawValue == 0x2533_1198_B2AD_AA33)
        #expect(AtomKey.int(53).rawValue == 0x383C_EF4F_14D3_3FD7)
        #expect(firstWords(space.atom("proto"), 2) == [0xBE97_5FB0_BB60_83A2, 0x4187_5F67_1E48_C650])
        #expect(firstWords(space.atom(53), 2) == [0xAD09_FDDC_BBCA_7B40, 0x203E_0778_CFBD_5C6F])
        let small = VectorSpace(dimension: 10, seed: 1).atom("x")
        #expect(small.values == [1, -1, -1, 1, -1, 1, 1, 1, 1, 1])
    }

    @Test func atomsAreNearlyOrthogonal() {
        var worst = 0.0
        for i in 0..<50 {
            for j in (i + 1)..<50 {
                worst = max(worst, abs(Similarity.cosine(space.atom(i), space.atom(j))))
            }
        }
        // 4096 lanes: standard deviation 1/64; 1225 pairs stay well inside 5 sigma.
        #expect(worst < 5.0 / 64)
    }

    @Test func bindIsExactAndSelfInverse() {
        let a = space.atom("a"), b = space.atom("b")
        let ab = Hypervector.bind(a, b)
        #expect(Hypervector.unbind(ab, b) == a)
        #expect(Hypervector.bind(ab, a) == b)
        #expect(abs(Similarity.cosine(ab, a)) < 0.1)
        #expect(Hypervector.bind(a, a).values.allSatisfy { $0 == 1 })
        var c = a
        c.formBind(b)
        #expect(c == ab)
        #expect(a == space.atom("a"), "copy-on-write leaves the cached atom alone")
    }

    @Test func bindMatchesLaneProduct() {
        let a = Hypervector(values: [1, -1, 0, 1, -1, 0, 1])
        let b = Hypervector(values: [1, 1, 1, -1, -1, 0, 0])
        #expect(Hypervector.bind(a, b).values == [1, -1, 0, -1, 1, 0, 0])
    }

    @Test func bundleIsTernaryMajority() {
        let a = Hypervector(values: [1, 1, -1, 0, 1, -1, 0])
        let b = Hypervector(values: [1, -1, -1, 0, 0, 1, 0])
        let c = Hypervector(values: [-1, -1, 1, 1, 0, 0, 0])
        #expect(Hypervector.bundle([a, b, c]).values == [1, -1, -1, 1, 1, 0, 0])
        #expect(Hypervector.bundle([a, b]).values == [1, 0, -1, 0, 1, 0, 0])
    }

    @Test func bundleMatchesReferenceForManyInputsAndOddDimensions() {
        for (d, k) in [(64, 1), (100, 3), (513, 10), (1000, 37), (4096, 300)] {
            let s = VectorSpace(dimension: d, seed: UInt64(d))
            var rng = Xoshiro256(seed: UInt64(k))
            let vs: [Hypervector] = (0..<k).map { i in
                // Mix bipolar atoms with sparse ternary vectors.
                if i % 3 == 0 { return s.atom(i) }
                return Hypervector(values: (0..<d).map { _ in Int(rng.next() % 3) - 1 })
            }
            var sums = [Int](repeating: 0, count: d)
            for v in vs { for (j, x) in v.values.enumerated() { sums[j] += Int(x) } }
            #expect(Hypervector.bundle(vs).values == sums.map { Int8($0.signum()) }, "d=\(d) k=\(k)")
        }
    }

    @Test func denseBundlesMatchLaneArithmetic() {
        // All-atom inputs take the dense path (full adders, -1 counts only); odd and even counts.
        for (d, k) in [(512, 2), (4096, 7), (1000, 16), (4096, 31), (640, 64)] {
            let s = VectorSpace(dimension: d, seed: UInt64(k))
            let vs = (0..<k).map { s.atom($0) }
            var sums = [Int](repeating: 0, count: d)
            for v in vs { for (j, x) in v.values.enumerated() { sums[j] += Int(x) } }
            #expect(Hypervector.bundle(vs).values == sums.map { Int8($0.signum()) }, "d=\(d) k=\(k)")
        }
    }

    @Test func bundleKeepsItsParts() {
        let parts = (0..<5).map { space.atom("part\($0)") }
        let b = Hypervector.bundle(parts)
        for p in parts { #expect(Similarity.cosine(b, p) > 0.3) }
        #expect(abs(Similarity.cosine(b, space.atom("other"))) < 0.1)
    }

    @Test func permuteRoundTripsAndDecorrelates() {
        for d in [64, 100, 4096] {
            let a = VectorSpace(dimension: d, seed: 9).atom("x")
            for shift in [1, 5, 63, 64, 65, d - 1, -3] {
                let p = a.permuted(by: shift)
                #expect(p.unpermuted(by: shift) == a, "d=\(d) shift=\(shift)")
                let normalized = ((shift % d) + d) % d
                #expect(p[normalized] == a[0])
            }
        }
        let a = space.atom("x")
        #expect(abs(Similarity.cosine(a, a.permuted(by: 1))) < 0.1)
    }

    @Test func negateDifferenceAmplifyBlend() {
        let a = space.atom("a"), b = space.atom("b"), c = space.atom("c")
        #expect(Similarity.cosine(a.negated(), a) == -1)
        let abc = Hypervector.bundle([a, b, c])
        let removed = Hypervector.negate(abc, removing: a)
        #expect(Similarity.cosine(removed, a) < Similarity.cosine(abc, a) - 0.3)
        #expect(Similarity.cosine(removed, b) > 0.3)
        let amplified = Hypervector.amplify(abc, a, factor: 2)
        #expect(Similarity.cosine(amplified, a) > Similarity.cosine(abc, a))
        let diff = Hypervector.difference(from: a, to: b)
        #expect(Similarity.cosine(diff, b) > 0.6 && Similarity.cosine(diff, a) < -0.6)
        for f in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let m = Hypervector.blend(a, b, fraction: f)
            #expect(m.isBipolar)
            #expect(abs(Similarity.cosine(m, b) - f) < 0.05, "fraction \(f)")
        }
    }

    @Test func prototypeKeepsOnlyAgreement() {
        let a = Hypervector(values: [1, 1, 1, -1])
        let b = Hypervector(values: [1, 1, -1, -1])
        let c = Hypervector(values: [1, -1, -1, -1])
        #expect(Hypervector.prototype([a, b, c], agreement: 1).values == [1, 0, 0, -1])
        #expect(Hypervector.prototype([a, b, c], agreement: 0.3).values == [1, 1, -1, -1])
    }

    @Test func similarityMatchesLaneArithmetic() {
        let a = Hypervector(values: [1, -1, 0, 1, 1, 0, -1])
        let b = Hypervector(values: [1, 1, 1, -1, 1, 0, -1])
        #expect(Similarity.dot(a, b) == 1 - 1 + 0 - 1 + 1 + 0 + 1)
        #expect(abs(Similarity.cosine(a, b) - 1 / (5.0 * 6).squareRoot()) < 1e-12)
        #expect(Similarity.cosine(a, Hypervector(dimension: 7)) == 0)
    }

    @Test func atomsCanBeSharedAcrossThreads() async {
        let space = VectorSpace(dimension: 1024, seed: 5, cacheCapacity: 64)
        let reference = (0..<200).map { VectorSpace.makeAtom(key: .int($0), dimension: 1024, seed: 5) }
        await withTaskGroup(of: Bool.self) { group in
            for t in 0..<4 {
                group.addTask {
                    (0..<2000).allSatisfy { i in space.atom((i * (t + 1)) % 200) == reference[(i * (t + 1)) % 200] }
                }
            }
            for await ok in group { #expect(ok) }
        }
        #expect(space.cachedAtomCount <= 64)
    }
}

@Suite struct CodebookTests {
    let space = VectorSpace(dimension: 4096, seed: 42)

    @Test func cleanupFindsTheNearestNamesInOrder() {
        let names = (0..<100).map { "item\($0)" }
        let book = Codebook(space: space, names: names)
        let noisy = Hypervector.blend(space.atom("item42"), space.atom("noise"), fraction: 0.4)
        let top = book.cleanup(noisy, top: 3)
        #expect(top.count == 3)
        #expect(top[0].name == "item42")
        #expect(top[0].similarity > 0.5 && top[1].similarity < 0.1)
        #expect(top[0].similarity >= top[1].similarity && top[1].similarity >= top[2].similarity)
        // A bundle of two cleans up to both.
        let both = book.cleanup(Hypervector.bundle([space.atom("item3"), space.atom("item7"), space.atom("item9")]), top: 3)
        #expect(Set(both.map(\.name)) == ["item3", "item7", "item9"])
        var acc = Accumulator(dimension: 4096)
        for _ in 0..<3 { acc.add(space.atom("item5")) }
        acc.add(space.atom("item6"))
        #expect(book.cleanup(acc, top: 2).map(\.name) == ["item5", "item6"])
        #expect(book.cleanup(noisy, top: 0).isEmpty)
    }

    @Test func setReplacesByName() {
        var book = Codebook(dimension: 4096)
        book.set("a", space.atom(1))
        book.set("a", space.atom(2))
        #expect(book.count == 1 && book["a"] == space.atom(2) && book["b"] == nil)
    }
}

@Suite struct DenseBundleTests {
    /// The encoder's dense kernel against the general one, for every input count up to 40 and
    /// dimensions with partial blocks.
    @Test func denseKernelMatchesTheGeneralOne() {
        struct Many: Walkable {
            let n: Int
            func walk<V: WalkVisitor>(into v: inout V) {
                for i in 0..<n { v.visit(FieldName("f\(i)"), i * 7) }
            }
        }
        for d in [64, 100, 512, 1000, 4096] {
            let space = VectorSpace(dimension: d, seed: 5)
            var enc = VectorEncoder(space: space)
            for n in 1...40 {
                let pairs = (0..<n).map { space.pair(FieldName("f\($0)"), .int($0 * 7)) }
                #expect(enc.encode(Many(n: n)) == Hypervector.bundle(pairs), "d=\(d) n=\(n)")
            }
        }
    }
}
