import Foundation
import Testing
@testable import Holon

@Suite struct HyperLogLogTests {
    /// Distinct item `i` of stream `stream`: a cheap distinct sequence, hashed by the stable hash.
    private static func item(_ i: Int, stream: Int = 0) -> UInt64 {
        StableHash.hash(UInt64(truncatingIfNeeded: stream) << 40 | UInt64(truncatingIfNeeded: i))
    }

    private static func relativeError(_ sketch: HyperLogLog, _ n: Int) -> Double {
        abs(sketch.estimate - Double(n)) / Double(n)
    }

    @Test func sweepUpToTenMillionAtDefaultPrecision() throws {
        let checkpoints = [
            1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000,
            100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000,
        ]
        var sketch = try HyperLogLog(precision: 14)
        #expect(sketch.relativeStandardError < 0.0082)
        var inserted = 0
        for n in checkpoints {
            while inserted < n {
                sketch.insert(hash: StableHash.hash(UInt64(truncatingIfNeeded: inserted)))
                inserted += 1
            }
            let error = Self.relativeError(sketch, n)
            #expect(error <= 0.02, "n = \(n): estimate \(sketch.estimate), relative error \(error)")
        }
    }

    /// Classic HyperLogLog is biased around 2.5 m … 5 m items (where it switches from linear
    /// counting to the raw estimate); Ertl's estimator is not. Averaging many independent sketches
    /// shrinks the noise so that a bias of a percent or two would show.
    @Test(arguments: [
        (10, 1_000), (10, 2_000), (10, 2_560), (10, 3_000), (10, 3_500), (10, 5_000), (10, 10_000),
        (12, 10_240),
    ])
    func meanErrorIsUnbiased(precision: Int, n: Int) throws {
        let sketches = 200
        var sum = 0.0
        for s in 0..<sketches {
            var sketch = try HyperLogLog(precision: precision)
            for i in 0..<n { sketch.insert(hash: Self.item(i, stream: s + 1)) }
            sum += (sketch.estimate - Double(n)) / Double(n)
        }
        let meanError = sum / Double(sketches)
        // Standard error of the mean ≈ 1.04/√m/√200: 0.23 % at p = 10, 0.11 % at p = 12; classic
        // HyperLogLog is about +1.5 % off at n = 2.5 m and would fail.
        let m = Double(1 << precision)
        let bound = 3 * 1.04 / m.squareRoot() / Double(sketches).squareRoot()
        #expect(abs(meanError) <= bound, "p = \(precision), n = \(n): mean relative error \(meanError)")
    }

    @Test func smallCardinalitiesAreNearlyExact() {
        var sketch = HyperLogLog()
        #expect(sketch.isEmpty)
        #expect(sketch.estimate == 0)
        #expect(sketch.count == 0)
        for i in 1...1_000 {
            sketch.insert(i)
            #expect(!sketch.isEmpty)
            if i <= 10 {
                #expect(sketch.count == i, "n = \(i): estimate \(sketch.estimate)")
            } else if i <= 100 {
                #expect(abs(sketch.count - i) <= 1, "n = \(i): estimate \(sketch.estimate)")
            } else {
                // About linear counting here: relative standard error ≈ 1/√(2m) = 0.55 %.
                #expect(Self.relativeError(sketch, i) <= 0.02, "n = \(i): estimate \(sketch.estimate)")
            }
        }
    }

    @Test func duplicatesDoNotChangeTheSketch() {
        var sketch = HyperLogLog()
        for i in 0..<100_000 { sketch.insert(UInt64(i)) }
        let before = sketch
        let estimate = sketch.estimate
        for i in 0..<100_000 { sketch.insert(UInt64(i)) }
        // The same items through the other integer entry points and the raw hash path.
        for i in stride(from: 0, to: 100_000, by: 7) {
            sketch.insert(i)
            sketch.insert(hash: StableHash.hash(UInt64(i)))
        }
        #expect(sketch == before)
        #expect(sketch.registers == before.registers)
        #expect(sketch.estimate == estimate)
    }

    @Test func mergeOfDisjointHalvesIsTheSketchOfTheUnion() throws {
        var evens = try HyperLogLog(precision: 12)
        var odds = try HyperLogLog(precision: 12)
        var union = try HyperLogLog(precision: 12)
        for i in 0..<200_000 {
            let h = Self.item(i)
            if i % 2 == 0 { evens.insert(hash: h) } else { odds.insert(hash: h) }
            union.insert(hash: h)
        }
        let merged = try evens.merging(odds)
        #expect(merged.registers == union.registers)
        #expect(merged == union)
        #expect(merged.estimate == union.estimate)
        #expect(Self.relativeError(merged, 200_000) <= 0.05)

        // Merge is commutative, idempotent, and the empty sketch is its identity.
        #expect(try odds.merging(evens) == union)
        #expect(try union.merging(union) == union)
        #expect(try union.merging(HyperLogLog(precision: 12)) == union)

        var inPlace = evens
        try inPlace.merge(odds)
        #expect(inPlace == union)
    }

    @Test func precisionErrors() throws {
        for p in [-1, 0, 3, 19, 64] {
            #expect(throws: HyperLogLogError.precisionOutOfRange(p)) { try HyperLogLog(precision: p) }
        }
        for p in HyperLogLog.minPrecision...HyperLogLog.maxPrecision {
            let sketch = try HyperLogLog(precision: p)
            #expect(sketch.precision == p)
            #expect(sketch.registers.count == 1 << p)
            #expect(sketch.registerCount == 1 << p)
        }
        #expect(HyperLogLog().precision == 14)

        var a = try HyperLogLog(precision: 12)
        a.insert(1)
        let b = try HyperLogLog(precision: 13)
        #expect(throws: HyperLogLogError.precisionMismatch(12, 13)) { try a.merge(b) }
        #expect(throws: HyperLogLogError.precisionMismatch(13, 12)) { try b.merging(a) }
        // A failed merge leaves the sketch as it was.
        var expected = try HyperLogLog(precision: 12)
        expected.insert(1)
        #expect(a == expected)
    }

    @Test func extremePrecisionsAndHashes() throws {
        for p in [HyperLogLog.minPrecision, HyperLogLog.maxPrecision] {
            var sketch = try HyperLogLog(precision: p)
            // A zero hash has all q bits zero: the rank saturates at q + 1 = 65 − p.
            sketch.insert(hash: 0)
            #expect(sketch.registers[0] == UInt8(65 - p))
            sketch.insert(hash: .max)
            #expect(sketch.registers[(1 << p) - 1] == 1)
            #expect(sketch.estimate.isFinite)
        }
        // Every register saturated: the estimate is infinite and the count clamps.
        var full = try HyperLogLog(precision: 4)
        for i in 0..<16 { full.insert(hash: UInt64(i) << 60) }
        #expect(full.estimate == .infinity)
        #expect(full.count == Int.max)

        // p = 18 is accurate to about 0.2 %.
        var fine = try HyperLogLog(precision: 18)
        for i in 0..<300_000 { fine.insert(hash: Self.item(i, stream: 99)) }
        #expect(Self.relativeError(fine, 300_000) <= 0.01)
    }

    @Test func stringsAndBytes() throws {
        var fromStrings = HyperLogLog()
        var fromBytes = HyperLogLog()
        for i in 0..<20_000 {
            let s = "10.0.\(i / 256).\(i % 256)/host-\(i)"
            fromStrings.insert(s)
            fromStrings.insert(s)
            Array(s.utf8).withUnsafeBytes { fromBytes.insert(bytes: $0) }
        }
        #expect(fromStrings == fromBytes)
        #expect(Self.relativeError(fromStrings, 20_000) <= 0.02)

        // Int and UInt64 of the same value are the same item (IPv4 addresses go in as integers).
        var a = HyperLogLog()
        var b = HyperLogLog()
        let address: UInt32 = 0xC0A8_0001  // 192.168.0.1
        a.insert(UInt64(address))
        b.insert(Int(address))
        #expect(a == b)
        #expect(a.count == 1)
    }

    @Test func resetEmptiesTheSketch() {
        var sketch = HyperLogLog()
        for i in 0..<1_000 { sketch.insert(i) }
        #expect(!sketch.isEmpty)
        sketch.reset()
        #expect(sketch.isEmpty)
        #expect(sketch == HyperLogLog())
        #expect(sketch.count == 0)
    }

    @Test func codableRoundTrip() throws {
        var sketch = try HyperLogLog(precision: 10)
        for i in 0..<5_000 { sketch.insert(i) }
        let data = try JSONEncoder().encode(sketch)
        let decoded = try JSONDecoder().decode(HyperLogLog.self, from: data)
        #expect(decoded == sketch)
        #expect(decoded.estimate == sketch.estimate)

        var empty = HyperLogLog()
        empty.insert("x")
        empty.reset()
        #expect(try JSONDecoder().decode(HyperLogLog.self, from: JSONEncoder().encode(empty)) == HyperLogLog())

        // Data that breaks the invariant is rejected.
        let bad = [
            #"{"precision": 3, "registers": [0,0,0,0,0,0,0,0]}"#,
            #"{"precision": 4, "registers": [0,0,0]}"#,
            #"{"precision": 4, "registers": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,62]}"#,
        ]
        for json in bad {
            #expect(throws: DecodingError.self) {
                try JSONDecoder().decode(HyperLogLog.self, from: Data(json.utf8))
            }
        }
    }

    @Test func sigmaAndTauSeries() {
        #expect(HyperLogLog.sigma(0) == 0)
        #expect(HyperLogLog.sigma(1) == .infinity)
        #expect(HyperLogLog.tau(0) == 0)
        #expect(HyperLogLog.tau(1) == 0)
        // σ(x) against the series summed directly; τ(x) against its definition.
        for x in [0.01, 0.3, 0.5, 0.9, 0.999] {
            var sigma = x
            var power = x
            for k in 1..<60 {
                power *= power
                sigma += power * Double(1 << (k - 1))
            }
            #expect(abs(HyperLogLog.sigma(x) - sigma) <= 1e-12 * sigma)

            var tau = 1 - x
            for k in 1..<60 {
                let root = pow(x, pow(2, -Double(k)))
                tau -= (1 - root) * (1 - root) * pow(2, -Double(k))
            }
            tau /= 3
            #expect(abs(HyperLogLog.tau(x) - tau) <= 1e-12)
        }
    }
}
