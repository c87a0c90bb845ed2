import Foundation
import Testing
import Holon

/// The algebra's smaller tools, each held to its definition lane by lane and to the numbers its
/// documentation promises.
@Suite struct PrimitiveTests {
    let space = VectorSpace(dimension: 4096, seed: 11)

    func ternary(_ d: Int, seed: UInt64) -> Hypervector {
        var rng = Xoshiro256(seed: seed)
        return Hypervector(values: (0..<d).map { _ in Int(rng.next() % 3) - 1 })
    }

    @Test func resonanceKeepsTheAgreeingLanes() {
        let a = ternary(777, seed: 1), r = ternary(777, seed: 2)
        let expected = zip(a.values, r.values).map { x, y in x != 0 && x == y ? Int(x) : 0 }
        #expect(Hypervector.resonance(a, r) == Hypervector(values: expected))
        // A bundle of three dense atoms agrees with each in 3/4 of the lanes: resonance keeps
        // those, so the cosine with the atom goes from 1/2 to √(3/4).
        let x = space.atom("x"), y = space.atom("y"), z = space.atom("z")
        let v = Hypervector.bundle([x, y, z])
        let kept = Hypervector.resonance(v, x)
        let share = Double(kept.nonZeroCount) / 4096
        #expect(abs(share - 0.75) < 5 * (0.75 * 0.25 / 4096).squareRoot())   // binomial, 5σ
        #expect(abs(Similarity.cosine(kept, x) - share.squareRoot()) < 1e-12)  // exact given nnz
        #expect(abs(Similarity.cosine(v, x) - 0.5) < 5 * (0.75 / 4096).squareRoot())
    }

    @Test func analogyAnswersTheDollarOfMexico() {
        let name = space.atom("name"), capital = space.atom("capital"), money = space.atom("money")
        let names = ["US", "DC", "dollar", "MX", "CDMX", "peso"]
        let book = Codebook(space: space, names: names)
        let usa = Hypervector.bundle([Hypervector.bind(name, book["US"]!), Hypervector.bind(capital, book["DC"]!), Hypervector.bind(money, book["dollar"]!)])
        let mexico = Hypervector.bundle([Hypervector.bind(name, book["MX"]!), Hypervector.bind(capital, book["CDMX"]!), Hypervector.bind(money, book["peso"]!)])
        let answer = Hypervector.analogy(usa, mexico, book["dollar"]!)
        let ranked = book.cleanup(answer, top: 6)
        #expect(ranked[0].name == "peso")
        // Each record keeps 1/2 of each pair (3-way majority); the product of the two records
        // holds dollar⊙peso with cosine 1/4, far above the 1/64 noise.
        #expect(abs(ranked[0].similarity - 0.25) < 5.0 / 64)
        #expect(ranked[1].similarity < 5.0 / 64)
        // Exact on atoms.
        let a = space.atom("a"), b = space.atom("b")
        #expect(Hypervector.analogy(a, b, a) == b)
    }

    @Test func attentionWeighsValuesBySoftmaxOfKeyMatch() {
        let keys = (0..<5).map { space.atom("k\($0)") }, values = (0..<5).map { space.atom("v\($0)") }
        let query = Hypervector.blend(keys[3], space.atom("noise"), fraction: 0.3)
        let sharp = Attention.attend(query, keys: keys, values: values, sharpness: 50)
        #expect(sharp.vector == values[3])
        #expect(abs(sharp.weights.reduce(0, +) - 1) < 1e-12)
        // The weights are the softmax of the scaled cosines, recomputed here.
        let scores = keys.map { 50 * Similarity.cosine(query, $0) }
        let e = scores.map { exp($0) }
        for i in 0..<5 { #expect(abs(sharp.weights[i] - e[i] / e.reduce(0, +)) < 1e-12) }
        // No sharpness: equal weights, the plain majority of the values.
        let flat = Attention.attend(query, keys: keys, values: values, sharpness: 0)
        #expect(flat.weights.allSatisfy { abs($0 - 0.2) < 1e-15 })
        #expect(flat.vector == Hypervector.bundle(values))
    }

    @Test func projectionAndRejectionSplitTheMemory() {
        let a = space.atom("a"), b = space.atom("b"), c = space.atom("c")
        var acc = Accumulator(dimension: 4096)
        acc.add(a, weight: 3)
        acc.add(b)
        acc.add(c, weight: 0.5)
        let coefficient = acc.projectionCoefficient(onto: a)
        // a·a = 4096 and b, c are nearly orthogonal to a: c ≈ 3 ± (1 + 0.5)/64 · 5σ.
        #expect(abs(coefficient - 3) < 5 * 1.5 / 64)
        #expect(abs(coefficient - acc.dot(a) / 4096) < 1e-12)
        let along = acc.projected(onto: a), rest = acc.rejected(from: a)
        // The rest is orthogonal to a, and the two parts add back to the sums (Float lanes).
        #expect(abs(rest.dot(a)) < 1e-3)
        for j in stride(from: 0, to: 4096, by: 37) { #expect(abs(along.sums[j] + rest.sums[j] - acc.sums[j]) < 1e-5) }
        // Pythagoras: |x|² = |c·a|² + |rest|² (to Float precision).
        let total = acc.norm * acc.norm
        #expect(abs(total - (along.norm * along.norm + rest.norm * rest.norm)) < 1e-6 * total)
        // What is left is b + c/2 (up to the 1/64 leakage of a): its sign is b's, a is gone.
        let left = rest.thresholded()
        #expect(abs(Similarity.cosine(left, a)) < 5.0 / 64)
        #expect(Similarity.cosine(left, b) > 0.9)
        #expect(along.thresholded() == a)
    }

    @Test func sparsifyKeepsExactlyTheAskedLanes() {
        let a = space.atom("dense")
        for keep in [0, 1, 100, 1024, 4096] {
            let s = a.sparsified(keeping: keep, seed: 9)
            #expect(s.nonZeroCount == keep)
            if keep > 0 {
                #expect(abs(Similarity.cosine(s, a) - (Double(keep) / 4096).squareRoot()) < 1e-12)
                #expect(Similarity.overlap(s, a) == 1)
            }
            // Kept lanes keep their sign.
            #expect(Hypervector.resonance(s, a) == s)
        }
        #expect(a.sparsified(keeping: 100, seed: 1) == a.sparsified(keeping: 100, seed: 1))
        #expect(a.sparsified(keeping: 100, seed: 1) != a.sparsified(keeping: 100, seed: 2))
        // An accumulator keeps its largest sums.
        var acc = Accumulator(dimension: 8)
        acc.add(Hypervector(values: [1, -1, 1, 0, 1, -1, 0, 1]), weight: 1)
        acc.add(Hypervector(values: [1, -1, 0, 0, -1, -1, 1, 1]), weight: 2)
        // sums: 3, −3, 1, 0, −1, −3, 2, 3
        #expect(acc.sparsified(keeping: 4) == Hypervector(values: [1, -1, 0, 0, 0, -1, 0, 1]))
        #expect(acc.sparsified(keeping: 5) == Hypervector(values: [1, -1, 0, 0, 0, -1, 1, 1]))
    }

    @Test func centroidIsTheWeightedMean() {
        let vs = (0..<4).map { ternary(50, seed: UInt64(10 + $0)) }
        let w = [1.0, 2.0, 0.5, 0.5]
        let c = Accumulator.centroid(of: vs, weights: w)
        for j in 0..<50 {
            let mean = zip(vs, w).reduce(0.0) { $0 + Double($1.0[j]) * $1.1 } / 4
            #expect(abs(Double(c.normalized[j]) - mean) < 1e-6)
        }
        #expect(Accumulator.centroid(of: vs).thresholded() == Hypervector.bundle(vs))
    }

    @Test func entropyOfLaneValues() {
        #expect(Hypervector(dimension: 64).entropy == 0)
        let thirds = Hypervector(values: (0..<3000).map { $0 % 3 - 1 })
        #expect(abs(thirds.entropy - log2(3)) < 1e-12)
        let a = space.atom("e")
        let p = Double(a.values.filter { $0 < 0 }.count) / 4096
        #expect(abs(a.entropy - (-p * log2(p) - (1 - p) * log2(1 - p))) < 1e-12)
        #expect(a.entropy > 0.99)
        let halfZero = Hypervector(values: (0..<4096).map { $0 % 2 == 0 ? 0 : 1 })
        #expect(halfZero.entropy == 1)
    }

    @Test func overlapAgreementAndWeightedCosine() {
        let a = ternary(1000, seed: 21), b = ternary(1000, seed: 22)
        let av = a.values.map(Int.init), bv = b.values.map(Int.init)
        let sa = av.filter { $0 != 0 }.count, sb = bv.filter { $0 != 0 }.count
        let both = zip(av, bv).filter { $0 != 0 && $1 != 0 }.count
        #expect(Similarity.overlap(a, b) == Double(both) / Double(min(sa, sb)))
        #expect(Similarity.agreement(a, b) == Double(zip(av, bv).filter { $0 == $1 }.count) / 1000)
        #expect(Similarity.agreement(a, a) == 1)
        // Independent dense atoms agree on half the lanes.
        #expect(abs(Similarity.agreement(space.atom("p"), space.atom("q")) - 0.5) < 5 * 0.5 / 64)
        var rng = Xoshiro256(seed: 3)
        let weights = (0..<1000).map { _ in Float(rng.next() % 1000) / 100 }
        var ab = 0.0, aa = 0.0, bb = 0.0
        for j in 0..<1000 {
            ab += Double(weights[j]) * Double(av[j] * bv[j])
            aa += Double(weights[j]) * Double(av[j] * av[j])
            bb += Double(weights[j]) * Double(bv[j] * bv[j])
        }
        #expect(abs(Similarity.weightedCosine(a, b, weights: weights) - ab / (aa * bb).squareRoot()) < 1e-12)
        #expect(abs(Similarity.weightedCosine(a, b, weights: [Float](repeating: 2, count: 1000)) - Similarity.cosine(a, b)) < 1e-12)
        // Weight only the lanes where they agree: cosine 1.
        let agreeing = (0..<1000).map { av[$0] == bv[$0] ? Float(1) : 0 }
        #expect(Similarity.weightedCosine(a, b, weights: agreeing) == 1)
    }

    @Test(arguments: [64, 1000, 4096])
    func thermometerIsLinearAndDecodesExactly(d: Int) {
        let t = ThermometerEncoder(dimension: d, lower: -5, upper: 15)
        for (s1, s2) in [(0, d), (0, 0), (d / 3, d / 2), (1, d - 1), (d / 2, d / 2 + 1)] {
            let c = Similarity.cosine(t.encode(level: s1), t.encode(level: s2))
            #expect(abs(c - (1 - 2 * Double(abs(s1 - s2)) / Double(d))) < 1e-12, "levels \(s1), \(s2)")
        }
        for s in [0, 1, 63, d / 2, d - 1, d] {
            let v = t.encode(level: s)
            #expect(v.isBipolar)
            #expect(t.decodeLevel(v) == s)
            #expect(t.values(ofLevelsAround: s).contains(t.decode(v)))
        }
        #expect(t.level(of: -100) == 0 && t.level(of: 100) == d)
    }

    @Test func thermometerDecodesANoisyCodeNearItsLevel() {
        let d = 4096
        let t = ThermometerEncoder(dimension: d, lower: 0, upper: 1)
        var v = t.encode(0.37)
        // Flip 10% of the lanes at random: the best split moves by a few lanes only.
        let flips = Hypervector.blend(v, v.negated(), fraction: 0.1, seed: 4)
        v = flips
        let err = abs(t.decode(v) - 0.37)
        #expect(err < 0.01, "error \(err)")
    }
}

extension ThermometerEncoder {
    /// The values at a level and its neighbours (for checking a decode up to rounding).
    func values(ofLevelsAround s: Int) -> [Double] {
        [s - 1, s, s + 1].filter { $0 >= 0 && $0 <= dimension }.map { value(ofLevel: $0) }
    }
}
