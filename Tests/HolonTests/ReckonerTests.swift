import Testing
import Holon

@Suite struct ReckonerTests {
    let space = VectorSpace(dimension: 4096, seed: 31)

    /// Eight classes; each example keeps 30 % of its class prototype's lanes (cos ≈ 0.3) and
    /// takes the rest from a fresh atom. Nearest class mean over 25 examples per class.
    @Test func discreteLabelsFromNoisyExamples() {
        let prototypes = (0..<8).map { space.atom("class\($0)") }
        var noise = 0
        func example(_ c: Int) -> Hypervector {
            noise += 1
            return Hypervector.blend(prototypes[c], space.atom("noise\(noise)"), fraction: 0.7, seed: UInt64(noise))
        }
        var r = DiscreteReckoner(dimension: 4096)
        for c in 0..<8 { for _ in 0..<25 { r.learn(example(c), label: "c\(c)") } }
        var right = 0
        var ownScores: [Double] = []
        for t in 0..<200 {
            let c = t % 8
            let ranked = r.predict(example(c))
            if ranked[0].label == "c\(c)" { right += 1 }
            ownScores.append(ranked.first { $0.label == "c\(c)" }!.score)
        }
        // A query shares 0.3 of the prototype; the class mean holds 0.3 of it plus 1/25 of
        // independent noise per example, so its cosine with the query is
        // 0.3 · 0.3 / √(0.09 + 0.91/25) ≈ 0.25, against 0 ± 1/64 for the other classes.
        let mean = ownScores.reduce(0, +) / 200
        let predicted = 0.09 / (0.09 + 0.91 / 25).squareRoot()
        #expect(abs(mean - predicted) < 0.02, "mean own-class score \(mean), predicted \(predicted)")
        #expect(right == 200)
        #expect(r.labels == (0..<8).map { "c\($0)" })
    }

    /// The decode error of a key's value, predicted from the noise the other examples add: one
    /// level up or down changes the score by −2(1 + n) with n a sum of K − 1 random signs, so
    /// the decoded level is the argmax of a two-sided random walk with drift −1; simulated here.
    func predictedMeanLevelError(others: Int, walks: Int = 4000, seed: UInt64 = 1) -> Double {
        var rng = Xoshiro256(seed: seed)
        var total = 0
        for _ in 0..<walks {
            var best = 0.0, bestAt = 0
            for direction in [-1, 1] {
                var score = 0.0
                for step in 1...400 {
                    var n = 0
                    for _ in 0..<others { n += rng.next() & 1 == 0 ? 1 : -1 }
                    score -= 2 * Double(1 + n)
                    if score > best || (score == best && direction < 0) { best = score; bestAt = direction * step }
                }
            }
            total += abs(bestAt)
        }
        return Double(total) / Double(walks)
    }

    @Test func continuousValuesDecodeFromTheirKeys() {
        let encoding = ScalarEncoding.linear(lower: 0, upper: 100)
        let level = 100.0 / 2048
        var errors: [Double] = []
        for memory in 0..<5 {
            let keys = (0..<20).map { space.atom("key\(memory).\($0)") }
            let values = (0..<20).map { Double(($0 * 37 + memory * 11) % 100) + 0.5 }
            var r = ContinuousReckoner(space: space, encoding: encoding)
            for (k, y) in zip(keys, values) { r.learn(k, value: y) }
            errors += zip(keys, values).map { abs(r.predict($0) - $1) }
        }
        // 19 other examples: a mean error of about 17 levels (0.8 on a 0…100 scale).
        let measured = errors.reduce(0, +) / Double(errors.count) / level
        let predicted = predictedMeanLevelError(others: 19)
        #expect(abs(measured - predicted) / predicted < 0.3, "mean error \(measured) levels, predicted \(predicted)")
        // Fewer examples, less noise: with 3 the error is a level or two.
        var small = ContinuousReckoner(space: space, encoding: encoding)
        let few = [(space.atom("p"), 12.5), (space.atom("q"), 50.0), (space.atom("r"), 87.5)]
        for (k, y) in few { small.learn(k, value: y) }
        for (k, y) in few { #expect(abs(small.predict(k) - y) <= 4 * level, "\(small.predict(k)) vs \(y)") }
    }

    @Test func boundAccumulatorUnbindsLaneByLane() {
        let a = space.atom("a"), b = space.atom("b")
        var acc = Accumulator(dimension: 4096)
        acc.add(Hypervector.bind(a, b), weight: 2)
        let back = acc.bound(with: a)
        #expect(back.thresholded() == b)
        #expect(back.sums.enumerated().allSatisfy { $0.element == 2 * Float(b[$0.offset]) })
        let sparse = Hypervector(values: (0..<4096).map { $0 % 2 == 0 ? 0 : 1 })
        #expect(acc.bound(with: sparse).sums.enumerated().allSatisfy { $0.offset % 2 == 1 || $0.element == 0 })
    }
}
