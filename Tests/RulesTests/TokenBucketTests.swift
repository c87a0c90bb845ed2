import Testing
import Rules

/// `#expect` cannot call a mutating method on its operand.
private func take(_ b: inout TokenBucket, _ t: UInt64) -> Bool { b.take(at: t) }

@Suite struct TokenBucketTests {
    /// 1000 pps limit, offered 5000 pps for 10 s: burst + 10 000 pass (± 1 for the edge).
    @Test(arguments: [nil, 1 as UInt64, 500, 5000])
    func limitOverTenSeconds(burst: UInt64?) throws {
        let rule = Rule(id: 1, match: [.equals(.proto, 17)], action: .rateLimit(pps: 1000, burst: burst))
        var table = try RuleTable([rule])
        var passed = 0
        let n = 50_000
        let t0: UInt64 = 1_700_000_000_000_000_000
        for i in 0..<n {
            let v = table.classify(packet(ts: t0 + UInt64(i) * 200_000))
            #expect(v.ruleID == 1)
            if v.passes { passed += 1 }
        }
        let b = Int(burst ?? TokenBucket.defaultBurst(pps: 1000))
        #expect(abs(passed - (b + 10_000)) <= 1, "passed \(passed), burst \(b)")
        let c = try #require(table.counters(forRule: 1))
        #expect(c.hits == UInt64(n))
        #expect(c.passes == UInt64(passed))
        #expect(c.drops == UInt64(n - passed))
    }

    @Test func exactRefill() {
        // 3 pps, burst 2: 1/3 token per 333 333 333 ns; tokens are exact integers in nanotokens.
        var b = TokenBucket(pps: 3, burst: 2)
        #expect(take(&b, 10))     // full: 2 → 1
        #expect(take(&b, 10))     // 1 → 0
        #expect(!take(&b, 10))
        #expect(!take(&b, 10 + 333_333_333))          // 0.999999999 token
        #expect(take(&b, 10 + 333_333_334))           // 1.000000002 → passes
        #expect(b.tokens == 2)                          // 2 nanotokens left over
        #expect(!take(&b, 5))                         // earlier timestamp: no refill, no rewind
        #expect(b.last == 10 + 333_333_334)
        // A long gap fills to capacity, never beyond, without overflow.
        #expect(take(&b, UInt64.max))
        #expect(b.tokens == b.capacity - TokenBucket.nanotokensPerToken)
    }

    @Test func zeroRateAndHugeValues() {
        var z = TokenBucket(pps: 0, burst: 3)
        #expect((0..<10).filter { _ in z.take(at: UInt64.random(in: 0...UInt64.max)) }.count == 3)
        var big = TokenBucket(pps: .max, burst: TokenBucket.maxBurst)
        #expect(take(&big, 0))
        #expect(take(&big, 1))
        #expect(big.tokens == big.capacity - TokenBucket.nanotokensPerToken)
        #expect(TokenBucket.defaultBurst(pps: 0) == 1)
        #expect(TokenBucket.defaultBurst(pps: 5000) == 500)
        #expect(TokenBucket.defaultBurst(pps: .max) == TokenBucket.maxBurst)
    }
}
