import Testing
import Holon

@Suite struct ScalarEncoderTests {
    let space = VectorSpace(dimension: 4096, seed: 42)

    @Test func logDecodesWithinOnePercentOverNineDecades() {
        let enc = space.scalarEncoder
        var worst = 0.0
        var distinct = Set<Hypervector>()
        // 20,000 points, log-uniform over 0.1 ... 1e9.
        for i in 0...20_000 {
            let x = Double.pow10(-1 + 10 * Double(i) / 20_000)
            let v = enc.encode(x, .log)
            if i % 50 == 0 { distinct.insert(v) }
            let y = enc.decode(v, .log)
            worst = max(worst, abs(y - x) / x)
        }
        #expect(worst <= 0.01, "worst relative error \(worst)")
        #expect(distinct.count == 401, "every sampled value has its own vector")
    }

    @Test func linearDecodesWithinOnePercentOfRange() {
        let enc = space.scalarEncoder
        let e = ScalarEncoding.linear(lower: -50, upper: 1450)
        var worst = 0.0
        for i in 0...15_000 {
            let x = -50 + 1500 * Double(i) / 15_000
            worst = max(worst, abs(enc.decode(enc.encode(x, e), e) - x) / 1500)
        }
        #expect(worst <= 0.01, "worst error \(worst) of range")
    }

    @Test func circularDecodesWithinOnePercentOfPeriodAndWraps() {
        let enc = space.scalarEncoder
        let e = ScalarEncoding.circular(period: 24)
        var worst = 0.0
        for i in 0..<24_000 {
            let x = 24 * Double(i) / 24_000
            let y = enc.decode(enc.encode(x, e), e)
            let d = abs(y - x)
            worst = max(worst, min(d, 24 - d) / 24)
        }
        #expect(worst <= 0.01, "worst error \(worst) of period")
        #expect(Similarity.cosine(enc.encode(23.9, e), enc.encode(0.1, e)) > 0.95)
        #expect(enc.encode(25, e) == enc.encode(1, e))
        #expect(abs(Similarity.cosine(enc.encode(0, e), enc.encode(12, e))) < 0.01)
    }

    @Test func similarityFallsOffSmoothlyAndMonotonically() {
        let enc = space.scalarEncoder
        let e = ScalarEncoding.linear(lower: 0, upper: 1)
        let origin = enc.encode(0, e)
        var previous = 2.0
        for i in 0...100 {
            let s = Similarity.cosine(origin, enc.encode(Double(i) / 100, e))
            #expect(s <= previous, "not monotonic at \(i)")
            #expect(abs(s - (1 - Double(i) / 100)) < 0.002, "not linear at \(i): \(s)")
            previous = s
        }
        let logOrigin = enc.encode(1000, .log)
        #expect(Similarity.cosine(logOrigin, enc.encode(1100, .log)) > 0.99)
        #expect(Similarity.cosine(logOrigin, enc.encode(1e6, .log)) < 0.75)
    }

    @Test func decodesABundleAndAnAccumulator() {
        let enc = space.scalarEncoder
        let rateField = space.atom("rate")
        var acc = Accumulator(dimension: 4096)
        // A record bundled with unrelated fields still decodes after unbinding the role.
        let record = Hypervector.bundle([
            Hypervector.bind(rateField, enc.encode(5000, .log)), space.atom("a"), space.atom("b"),
        ])
        let decoded = enc.decode(Hypervector.unbind(record, rateField), .log)
        #expect(abs(decoded - 5000) / 5000 < 0.05, "decoded \(decoded)")
        for _ in 0..<10 { acc.add(enc.encode(12_345, .log)) }
        #expect(abs(enc.decode(acc, .log) - 12_345) / 12_345 < 0.01)
    }

    @Test func valuesOutsideTheRangeClamp() {
        let enc = space.scalarEncoder
        #expect(enc.encode(1e12, .log) == enc.encode(1e9, .log))
        #expect(enc.encode(0, .log) == enc.encode(0.1, .log))
        #expect(enc.encode(-5, .log) == enc.encode(0.1, .log))
    }
}

extension Double {
    static func pow10(_ x: Double) -> Double { Foundation_pow(10, x) }
}

#if canImport(Glibc)
import Glibc
private func Foundation_pow(_ a: Double, _ b: Double) -> Double { Glibc.pow(a, b) }
#endif
