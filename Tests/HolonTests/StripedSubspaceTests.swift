import Foundation
import Testing
import Holon

@Suite struct StripedSubspaceTests {
    /// Four runs of 8 lanes, each with its own rank-2 structure (σ² = 16, 4 along directions of
    /// its own) and noise of 0.01 per lane: rank 8 in all, 2 per stripe.
    struct BlockSource {
        var blocks: [LowRankSource]
        init(seed: UInt64) {
            blocks = (0..<4).map { LowRankSource(dimension: 8, scales: [4, 2], noise: 0.1, seed: seed + UInt64($0)) }
        }
        mutating func sample() -> [Double] { blocks.indices.flatMap { blocks[$0].sample() } }
    }

    @Test func residualsMatchBatchPCAStripeByStripe() {
        var source = BlockSource(seed: 21)
        let train = (0..<4000).map { _ in source.sample() }
        let test = (0..<300).map { _ in source.sample() }
        var striped = StripedSubspace(dimension: 32, stripes: 4, rank: 2)
        var single = OnlineSubspace(dimension: 32, rank: 2)
        for x in train { striped.update(x); single.update(x) }
        #expect(striped.bounds == [0, 8, 16, 24, 32])

        // Reference: batch PCA (Jacobi) of each stripe's lanes, rank 2, combined by RSS.
        let batches = (0..<4).map { s in BatchPCA(train.map { Array($0[(8 * s)..<(8 * s + 8)]) }) }
        var online = 0.0, exact = 0.0, global = 0.0
        for x in test {
            let parts = striped.stripeResiduals(x)
            // The combined residual is the RSS of the stripes' residuals.
            #expect(abs(striped.residual(x) - parts.reduce(0.0) { $0 + $1 * $1 }.squareRoot()) < 1e-12)
            online += striped.residual(x)
            exact += (0..<4).reduce(0.0) { acc, s in
                let r = batches[s].residual(Array(x[(8 * s)..<(8 * s + 8)]), rank: 2)
                return acc + r * r
            }.squareRoot()
            global += single.residual(x)
        }
        // Within 0.1 % of the reference; what remains is the noise, √(24 · 0.01) ≈ 0.49.
        #expect(abs(online - exact) / exact < 0.001, "mean residual \(online / 300) vs batch \(exact / 300)")
        #expect(abs(exact / 300 - 0.49) < 0.05, "batch residual \(exact / 300)")
        // One rank-2 model over all 32 lanes keeps 2 of the 8 directions (two with σ² = 16):
        // the other six leave a variance of 2 · 16 + 4 · 4 + 0.3 = 48.3, a mean residual of
        // about √48.3 ≈ 6.95 (less the spread of a norm: measured 6.63), 14× the striped one.
        #expect(abs(global / 300 - 6.7) < 0.4, "single \(global / 300) vs striped \(online / 300)")
        // The reconstruction is the stripes' side by side: x − reconstruct(x) has the residual's length.
        let x = test[0], r = striped.reconstruct(x)
        let length = zip(x, r).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        #expect(abs(length - striped.residual(x)) < 1e-12)
    }

    @Test func localisesADepartureToItsStripe() {
        var source = BlockSource(seed: 31)
        var striped = StripedSubspace(dimension: 32, stripes: 4, rank: 2)
        for _ in 0..<3000 { striped.update(source.sample()) }
        let cut = striped.threshold(sigmas: 4)
        // A push of 3 along a direction stripe 2 never varied in (lane 17, minus its share
        // inside that stripe's subspace): only stripe 2's residual grows, to ≈ √(9 + 0.06).
        var hits = 0, meanShifted = 0.0
        for _ in 0..<100 {
            var x = source.sample()
            var push = [Double](repeating: 0, count: 8)
            push[1] = 1
            for e in source.blocks[2].directions {
                let c = zip(push, e).reduce(0.0) { $0 + $1.0 * $1.1 }
                for j in 0..<8 { push[j] -= c * e[j] }
            }
            let n = push.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            for j in 0..<8 { x[16 + j] += 3 * push[j] / n }
            let parts = striped.stripeResiduals(x)
            if parts.firstIndex(of: parts.max()!) == 2 && striped.residual(x) > cut { hits += 1 }
            meanShifted += parts[2]
        }
        #expect(hits == 100)
        #expect(abs(meanShifted / 100 - (9 + 0.06).squareRoot()) < 0.1, "stripe 2 residual \(meanShifted / 100)")
        // Normal samples stay under the cut (mean + 4σ of the stream's own residuals).
        let over = (0..<1000).filter { _ in striped.residual(source.sample()) > cut }.count
        #expect(over <= 5, "\(over) of 1000 normal samples above the cut")
    }

    @Test func unevenStripesAndSnapshots() throws {
        let s = StripedSubspace(dimension: 10, stripes: 3, rank: 1)
        #expect(s.bounds == [0, 3, 6, 10])
        #expect(s.stripes.map(\.dimension) == [3, 3, 4])
        var source = BlockSource(seed: 41)
        var model = StripedSubspace(dimension: 32, stripes: 4, rank: 2, amnesia: 1)
        for _ in 0..<300 { model.update(source.sample()) }
        let restored = try JSONDecoder().decode(StripedSubspace.self, from: JSONEncoder().encode(model))
        #expect(restored == model)
        let x = source.sample()
        #expect(restored.residual(x) == model.residual(x))
    }
}
