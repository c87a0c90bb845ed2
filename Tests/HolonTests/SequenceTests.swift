import Foundation
import Testing
import Holon

/// Expected values for majority bundles of independent random bipolar vectors, computed exactly
/// from binomial distributions: what a bundle of `m` vectors keeps of each.
enum BundleTheory {
    /// P(sum of `n` random ±1 equals `s`).
    static func pmf(_ n: Int, _ s: Int) -> Double {
        guard (n + s) % 2 == 0, abs(s) <= n else { return 0 }
        let k = (n + s) / 2
        // log C(n, k) − n log 2, by lgamma to stay finite for large n.
        return exp(lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1)) - Double(n) * log(2))
    }

    static func sign(_ x: Int) -> Double { x > 0 ? 1 : x < 0 ? -1 : 0 }

    /// Expected cosine between `sign(S + U)` and `sign(S + V)`, where `S` sums `shared` vectors
    /// common to both bundles and `U`, `V` sum `m1 − shared`, `m2 − shared` vectors of their own.
    static func cosine(shared k: Int, _ m1: Int, _ m2: Int) -> Double {
        var cross = 0.0, nz1 = 0.0, nz2 = 0.0
        for s in stride(from: -k, through: k, by: 2) {
            let ps = pmf(k, s)
            var e1 = 0.0, z1 = 0.0, e2 = 0.0, z2 = 0.0
            for u in stride(from: -(m1 - k), through: m1 - k, by: 2) {
                let p = pmf(m1 - k, u); e1 += p * sign(s + u); z1 += p * abs(sign(s + u))
            }
            for v in stride(from: -(m2 - k), through: m2 - k, by: 2) {
                let p = pmf(m2 - k, v); e2 += p * sign(s + v); z2 += p * abs(sign(s + v))
            }
            cross += ps * e1 * e2   // U and V are independent given S
            nz1 += ps * z1
            nz2 += ps * z2
        }
        return cross / (nz1 * nz2).squareRoot()
    }

    /// Φ, the standard normal CDF.
    static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.squareRoot()) }

    /// P(the true item scores above all `k − 1` others), scores Gaussian: the true one with mean
    /// `mu` and deviation `sigmaTrue`, the others with mean 0 and deviation `sigmaNoise`.
    static func cleanupAccuracy(mu: Double, sigmaTrue: Double, sigmaNoise: Double, candidates k: Int) -> Double {
        var total = 0.0
        let step = 0.01
        for z in stride(from: -8.0, through: 8.0, by: step) {
            let density = exp(-z * z / 2) / (2 * Double.pi).squareRoot()
            total += density * pow(normalCDF((mu + sigmaTrue * z) / sigmaNoise), Double(k - 1)) * step
        }
        return total
    }
}

@Suite struct SequenceTests {
    /// Decoding every position of positional sequences of length `L` against a codebook of 64
    /// atoms at d = 1024, compared with the accuracy the bundle's statistics predict.
    @Test(arguments: [15, 65, 129, 257])
    func positionalDecodeAccuracyMatchesTheory(length: Int) {
        let d = 1024, k = 64
        let space = VectorSpace(dimension: d, seed: 5)
        let names = (0..<k).map { "sym\($0)" }
        let book = Codebook(space: space, names: names)
        var rng = Xoshiro256(seed: UInt64(length))
        var right = 0, total = 0
        let trials = max(4, 2000 / length)
        for _ in 0..<trials {
            let seq = (0..<length).map { _ in Int(rng.next() % UInt64(k)) }
            let v = Sequences.positional(seq.map { book.vectors[$0] })
            for (i, truth) in seq.enumerated() {
                let best = book.cleanup(Sequences.item(at: i, in: v), top: 1)[0]
                if best.name == names[truth] { right += 1 }
                total += 1
            }
        }
        let measured = Double(right) / Double(total)
        // Each item's expected cosine with the bundle is the shared-1-of-L case.
        let mu = BundleTheory.cosine(shared: 1, 1, length) * 1.0
        let predicted = BundleTheory.cleanupAccuracy(mu: mu, sigmaTrue: ((1 - mu * mu) / Double(d)).squareRoot(),
                                                     sigmaNoise: 1 / Double(d).squareRoot(), candidates: k)
        #expect(abs(measured - predicted) < 0.05, "L=\(length): measured \(measured), predicted \(predicted)")
        if length == 15 { #expect(measured == 1.0) }
        if length == 257 { #expect(measured < 0.5) }
    }

    @Test func chainedTellsEveryOrderApart() {
        let space = VectorSpace(dimension: 4096, seed: 1)
        let a = space.atom("a"), b = space.atom("b"), c = space.atom("c")
        // The plain product cannot: it is commutative.
        #expect(Hypervector.bind(a, b) == Hypervector.bind(b, a))
        #expect(Sequences.chained([a, b]) != Sequences.chained([b, a]))
        let orders = [[a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]].map { Sequences.chained($0) }
        for i in orders.indices {
            for j in orders.indices where j > i {
                // Unrelated dense vectors at d = 4096: |cos| has deviation 1/64; 5σ bound.
                #expect(abs(Similarity.cosine(orders[i], orders[j])) < 5.0 / 64, "orders \(i), \(j)")
            }
        }
        #expect(Similarity.cosine(Sequences.chained([a, b]), Sequences.chained([a, b])) == 1)
    }

    @Test func chainedIsThePermutedProductAndPeelsExactly() {
        let space = VectorSpace(dimension: 1000, seed: 2)
        let xs = (0..<6).map { space.atom("x\($0)") }
        var expected = Hypervector(values: [Int](repeating: 1, count: 1000))
        for (i, x) in xs.enumerated() { expected.formBind(x.permuted(by: xs.count - 1 - i)) }
        let chain = Sequences.chained(xs)
        #expect(chain == expected)
        #expect(chain.isBipolar)
        let prefix = Sequences.chained(xs.dropLast())
        #expect(Sequences.appending(xs[5], to: prefix) == chain)
        #expect(Sequences.last(of: chain, after: prefix) == xs[5])
    }

    @Test func ngramsAreTheBundleOfTheirWindows() {
        let d = 300
        let space = VectorSpace(dimension: d, seed: 3)
        let xs = (0..<9).map { space.atom("t\($0 % 7)") }   // repeats on purpose
        for n in 1...4 {
            // Lane arithmetic straight from the definition.
            var sums = [Int](repeating: 0, count: d)
            for j in 0...(xs.count - n) {
                var gram = [Int](repeating: 1, count: d)
                for k in 0..<n {
                    let v = xs[j + k].values.map(Int.init)
                    let shift = n - 1 - k
                    for lane in 0..<d { gram[(lane + shift) % d] *= v[lane] }
                }
                for lane in 0..<d { sums[lane] += gram[lane] }
            }
            #expect(Sequences.ngrams(xs, n: n) == Hypervector(values: sums.map { $0.signum() }), "n = \(n)")
        }
        #expect(Sequences.ngrams(Array(xs[0..<2]), n: 3) == Sequences.chained(xs[0..<2]))
    }

    @Test func ngramSimilarityFollowsSharedWindows() {
        let d = 4096
        let space = VectorSpace(dimension: d, seed: 4)
        let text = (0..<60).map { space.atom("letter\($0)") }          // 60 distinct symbols
        var edited = text
        edited[30] = space.atom("other")                               // kills windows 28, 29, 30
        let reversed = Array(text.reversed())
        let t = Sequences.ngrams(text, n: 3)
        // 58 trigrams each, 55 shared: the exact expectation for majority bundles.
        let predicted = BundleTheory.cosine(shared: 55, 58, 58)
        let measured = Similarity.cosine(t, Sequences.ngrams(edited, n: 3))
        #expect(abs(measured - predicted) < 4.0 / 64, "measured \(measured), predicted \(predicted)")
        #expect(predicted > 0.8 && predicted < 0.95)
        // Reversed: the same symbols, no trigram in common (their order is reversed).
        #expect(abs(Similarity.cosine(t, Sequences.ngrams(reversed, n: 3))) < 5.0 / 64)
        // "ab" and "ba" as bigrams.
        let ab = Sequences.ngrams([text[0], text[1]], n: 2), ba = Sequences.ngrams([text[1], text[0]], n: 2)
        #expect(abs(Similarity.cosine(ab, ba)) < 5.0 / 64)
    }
}
