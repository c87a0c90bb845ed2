import Foundation
import Testing
import Holon

@Suite struct RankAdaptationTests {
    /// Data of rank 3 (σ² = 25, 9, 4) over noise of 0.01 per lane at d = 32: the unexplained
    /// shares are 35 % at one component, 11 % at two and 0.8 % at three, so with growAbove 5 %
    /// the count climbs to 3 and stops there.
    @Test func growsToTheTrueRankAndMatchesBatchPCA() {
        let d = 32
        var source = LowRankSource(dimension: d, scales: [5, 3, 2], noise: 0.1, seed: 11)
        let train = (0..<6000).map { _ in source.sample() }
        let test = (0..<300).map { _ in source.sample() }
        var model = OnlineSubspace(dimension: d, rank: 1, adapting: RankAdaptation(maxRank: 8, growAbove: 0.05, dropBelow: 0.02, settle: 200))
        var ranks: [Int] = []
        for (n, x) in train.enumerated() {
            model.update(x)
            if (n + 1) % 200 == 0 { ranks.append(model.rank) }
        }
        #expect(model.rank == 3)
        #expect(ranks.max() == 3, "rank over time: \(ranks)")
        #expect(model.adaptation?.changes == 2)
        #expect(model.unexplainedShare < 0.02, "unexplained \(model.unexplainedShare)")
        // The grown components are the batch ones: eigenvalues within 2 % (measured 24.78 / 9.06 /
        // 3.98 vs 24.82 / 9.08 / 3.95), held-out residuals within 0.1 % of batch PCA at rank 3
        // (measured 0.53508 for both).
        let batch = BatchPCA(train)
        for (online, exact) in zip(model.eigenvalues, batch.values) {
            #expect(abs(online - exact) / exact < 0.02, "eigenvalue \(online) vs batch \(exact)")
        }
        var online = 0.0, exact = 0.0
        for x in test {
            online += model.residual(x)
            exact += batch.residual(x, rank: 3)
        }
        #expect(abs(online - exact) / exact < 0.001, "mean residual \(online / 300) vs batch \(exact / 300)")
        // The threshold restarted at the last change describes the rank-3 residuals: the
        // share of fresh samples above mean + 3σ stays near the Gaussian 0.1 %–1 %.
        let cut = model.threshold(sigmas: 3)
        let above = (0..<1000).filter { _ in model.residual(source.sample()) > cut }.count
        #expect(above <= 15, "\(above) of 1000 normal samples above the cut")
    }

    /// The stream loses two of its three directions: with a horizon of 500 their eigenvalues
    /// fade to the noise (≈ 0.01–0.05, under 2 % of the 25.3 total) and both are dropped.
    @Test func shrinksWhenDirectionsDisappear() {
        let d = 32
        var full = LowRankSource(dimension: d, scales: [5, 3, 2], noise: 0.1, seed: 12)
        // Same seed: the same first direction and mean, the other two gone.
        var reduced = LowRankSource(dimension: d, scales: [5], noise: 0.1, seed: 12)
        var model = OnlineSubspace(dimension: d, rank: 2, amnesia: 2, horizon: 500,
                                   adapting: RankAdaptation(maxRank: 6, growAbove: 0.05, dropBelow: 0.02, settle: 200))
        for _ in 0..<4000 { model.update(full.sample()) }
        #expect(model.rank == 3)
        for _ in 0..<4000 { model.update(reduced.sample()) }
        #expect(model.rank == 1)
        #expect(model.adaptation?.changes == 3)
        // What is left is the surviving direction. Its eigenvalue is an amnesic estimate over
        // ≈ 170 effective samples (±15 % around 25), but it explains the same samples' total
        // variance in the true proportion, 25 / (25 + 0.32) = 98.7 %.
        let along = abs(zip(model.basis[0], reduced.directions[0]).reduce(0.0) { $0 + $1.0 * $1.1 })
        #expect(along > 0.99, "alignment \(along)")
        #expect(abs(model.eigenvalues[0] / model.totalVariance - 0.987) < 0.005,
                "eigenvalue \(model.eigenvalues[0]) of \(model.totalVariance)")
    }

    @Test func fixedRankModelsAreUnchanged() {
        var source = LowRankSource(dimension: 16, scales: [3, 2, 1], noise: 0.1, seed: 13)
        var model = OnlineSubspace(dimension: 16, rank: 1)
        for _ in 0..<2000 { model.update(source.sample()) }
        #expect(model.rank == 1 && model.adaptation == nil)
        // 1 − 9 / (9 + 4 + 1 + 0.16) = 36 % left unexplained by the one component (sampled).
        #expect(abs(model.unexplainedShare - 0.364) < 0.04, "\(model.unexplainedShare)")
    }

    @Test func adaptiveSnapshotsRoundTrip() throws {
        var source = LowRankSource(dimension: 8, scales: [3, 1], noise: 0.1, seed: 14)
        var model = OnlineSubspace(dimension: 8, rank: 1, adapting: RankAdaptation(maxRank: 4, settle: 50))
        for _ in 0..<400 { model.update(source.sample()) }
        var restored = try JSONDecoder().decode(OnlineSubspace.self, from: JSONEncoder().encode(model))
        #expect(restored == model)
        // And both learn on identically.
        for _ in 0..<200 { let x = source.sample(); model.update(x); restored.update(x) }
        #expect(restored == model)
    }
}
