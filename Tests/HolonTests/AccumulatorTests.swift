import Testing
import Holon

@Suite struct AccumulatorTests {
    let space = VectorSpace(dimension: 4096, seed: 42)

    @Test func sumsMatchLaneArithmetic() {
        let a = Hypervector(values: [1, -1, 0, 1, 1])
        let b = Hypervector(values: [1, 1, 1, -1, 0])
        var acc = Accumulator(dimension: 5)
        acc.add(a)
        acc.add(b, weight: 2.5)
        #expect(acc.sums == [3.5, 1.5, 2.5, -1.5, 1])
        #expect(acc.weight == 3.5 && acc.count == 2)
        #expect(acc.thresholded().values == [1, 1, 1, -1, 1])
        #expect(acc.thresholded(above: 1.5).values == [1, 0, 1, 0, 0])
        let dot: Double = 3.5 - 1.5 - 1.5 + 1
        #expect(acc.dot(a) == dot)
        let expected: [Double] = [1, 1.5 / 3.5, 2.5 / 3.5, -1.5 / 3.5, 1 / 3.5]
        #expect(zip(acc.normalized, expected).allSatisfy { abs(Double($0) - $1) < 1e-6 })
    }

    @Test func presenceIsLinearInShare() {
        var acc = Accumulator(dimension: 4096)
        let dns = space.atom("dns"), web = space.atom("web")
        for i in 0..<1000 { acc.add(i % 4 == 0 ? dns : web) }
        #expect(abs(acc.presence(of: dns) - 0.25) < 0.02)
        #expect(abs(acc.presence(of: web) - 0.75) < 0.02)
        #expect(abs(acc.presence(of: space.atom("ntp"))) < 0.03)
    }

    @Test func presenceOfFieldValuePairsInEncodedRecords() {
        var enc = VectorEncoder(space: space)
        var acc = Accumulator(dimension: 4096)
        for i in 0..<500 {
            let f = Flow(proto: 17, src_port: i % 10 == 0 ? 53 : 1024 + i, dst_port: 80, tcp_flags: 0, payload_len: i % 50)
            acc.add(enc.encode(f))
        }
        let proto17 = acc.presence(field: FieldName("proto"), value: .int(17), in: space)
        let src53 = acc.presence(field: FieldName("src_port"), value: .int(53), in: space)
        let src54 = acc.presence(field: FieldName("src_port"), value: .int(54), in: space)
        // A part of a 5-field majority bundle agrees with it on 11/16 of lanes: 0.375.
        #expect(abs(proto17 - 0.375) < 0.03)
        #expect(abs(src53 - 0.0375) < 0.015)
        #expect(abs(src54) < 0.01)
    }

    @Test func decayByFactorAndHalfLife() {
        var acc = Accumulator(dimension: 64)
        let a = VectorSpace(dimension: 64, seed: 1).atom("a")
        acc.add(a)
        acc.decay(by: 0.5)
        #expect(acc.weight == 0.5)
        #expect(acc.sums.allSatisfy { abs($0) == 0.5 })
        var timed = Accumulator(dimension: 64)
        timed.decay(to: 1_000_000_000, halfLife: .seconds(2))
        timed.add(a)
        timed.decay(to: 3_000_000_000, halfLife: .seconds(2))  // one half-life later
        #expect(abs(timed.weight - 0.5) < 1e-9)
        timed.decay(to: 2_000_000_000, halfLife: .seconds(2))  // time going backwards: ignored
        #expect(abs(timed.weight - 0.5) < 1e-9)
        timed.decay(to: 7_000_000_000, halfLife: .seconds(2))
        #expect(abs(timed.weight - 0.125) < 1e-9)
    }

    @Test func mergeEqualsAddingEverything() {
        let vs = (0..<20).map { space.atom($0) }
        var whole = Accumulator(dimension: 4096), left = Accumulator(dimension: 4096), right = Accumulator(dimension: 4096)
        for (i, v) in vs.enumerated() {
            whole.add(v)
            if i < 10 { left.add(v) } else { right.add(v) }
        }
        left.merge(right)
        #expect(left.sums == whole.sums && left.count == 20 && left.weight == 20)
    }
}

@Suite struct AccumulatorCosineTests {
    @Test func cosineBetweenAccumulators() {
        var a = Accumulator(dimension: 4), b = Accumulator(dimension: 4)
        a.add(Hypervector(values: [1, 1, -1, 0]))
        b.add(Hypervector(values: [1, -1, -1, 0]), weight: 2)
        #expect(abs(a.cosine(b) - 1.0 / 3.0) < 1e-6)
        #expect(Accumulator(dimension: 4).cosine(a) == 0)
    }
}

@Suite struct LaneCounterTests {
    @Test func flushEqualsAddingOneByOne() {
        for d in [5, 64, 100, 4096] {
            let space = VectorSpace(dimension: d, seed: 3)
            var rng = Xoshiro256(seed: UInt64(d))
            var direct = Accumulator(dimension: d), batched = Accumulator(dimension: d)
            var counter = LaneCounter(dimension: d)
            for i in 0..<100 {
                let v = i % 2 == 0 ? space.atom(i % 7) : Hypervector(values: (0..<d).map { _ in Int(rng.next() % 3) - 1 })
                direct.add(v, weight: 0.5)
                counter.add(v)
                if counter.isFull { counter.flush(into: &batched, weight: 0.5) }
            }
            counter.flush(into: &batched, weight: 0.5)
            #expect(direct.sums == batched.sums, "d=\(d)")
            #expect(direct.count == batched.count && direct.weight == batched.weight)
        }
    }
}
