import Foundation
import Testing
import Holon

/// Batch PCA by cyclic Jacobi rotations on the sample covariance: the reference CCIPCA is held
/// against.
struct BatchPCA {
    let mean: [Double]
    /// Eigenpairs, largest eigenvalue first.
    let values: [Double]
    let vectors: [[Double]]

    init(_ samples: [[Double]]) {
        let d = samples[0].count, n = Double(samples.count)
        var mean = [Double](repeating: 0, count: d)
        for x in samples { for j in 0..<d { mean[j] += x[j] / n } }
        var a = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for x in samples {
            for i in 0..<d { for j in 0..<d { a[i][j] += (x[i] - mean[i]) * (x[j] - mean[j]) / n } }
        }
        var v = (0..<d).map { i in (0..<d).map { $0 == i ? 1.0 : 0.0 } }
        for _ in 0..<50 {
            var off = 0.0
            for p in 0..<d { for q in (p + 1)..<d { off += a[p][q] * a[p][q] } }
            if off < 1e-22 { break }
            for p in 0..<d {
                for q in (p + 1)..<d where abs(a[p][q]) > 1e-300 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<d {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<d {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                    for k in 0..<d {
                        let vkp = v[k][p], vkq = v[k][q]
                        v[k][p] = c * vkp - s * vkq
                        v[k][q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<d).sorted { a[$0][$0] > a[$1][$1] }
        self.mean = mean
        self.values = order.map { a[$0][$0] }
        self.vectors = order.map { col in (0..<d).map { v[$0][col] } }
    }

    func residual(_ x: [Double], rank: Int) -> Double {
        let c = zip(x, mean).map { $0 - $1 }
        var r = c
        for b in vectors.prefix(rank) {
            let k = zip(c, b).reduce(0.0) { $0 + $1.0 * $1.1 }
            for j in r.indices { r[j] -= k * b[j] }
        }
        return r.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
    }
}

/// Samples `mean + Σ zᵢ σᵢ eᵢ + noise` along random orthonormal directions `eᵢ`.
struct LowRankSource {
    var rng: Xoshiro256
    let mean: [Double]
    let directions: [[Double]]
    let scales: [Double]
    let noise: Double

    init(dimension d: Int, scales: [Double], noise: Double, seed: UInt64) {
        var gen = Xoshiro256(seed: seed)
        var dirs: [[Double]] = []
        for _ in scales {
            var v = [Double]()
            for _ in 0..<d { v.append(Double(gen.next() >> 11) / 0x1p52 - 1) }
            for e in dirs {
                let c = zip(v, e).reduce(0.0) { $0 + $1.0 * $1.1 }
                for j in 0..<d { v[j] -= c * e[j] }
            }
            let n = v.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            dirs.append(v.map { $0 / n })
        }
        rng = gen
        mean = (0..<d).map { Double($0 % 5) - 2 }
        directions = dirs
        self.scales = scales
        self.noise = noise
    }

    mutating func gaussian() -> Double {
        // Box–Muller from two uniforms in (0, 1].
        let u1 = (Double(rng.next() >> 11) + 1) / 0x1p53, u2 = Double(rng.next() >> 11) / 0x1p53
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    mutating func sample() -> [Double] {
        var x = mean
        for (e, s) in zip(directions, scales) {
            let z = gaussian() * s
            for j in x.indices { x[j] += z * e[j] }
        }
        for j in x.indices { x[j] += gaussian() * noise }
        return x
    }
}

@Suite struct OnlineSubspaceTests {
    @Test func convergesToTheBatchPrincipalSubspace() {
        let d = 32
        var source = LowRankSource(dimension: d, scales: [5, 3, 2], noise: 0.1, seed: 1)
        let train = (0..<6000).map { _ in source.sample() }
        let test = (0..<300).map { _ in source.sample() }
        var model = OnlineSubspace(dimension: d, rank: 3)
        for x in train { model.update(x) }
        let batch = BatchPCA(train)

        // Eigenvalues: σ² = 25, 9, 4 (+ noise 0.01) — the batch ones, within 2 %.
        for (online, exact) in zip(model.eigenvalues, batch.values) {
            #expect(abs(online - exact) / exact < 0.02, "eigenvalue \(online) vs batch \(exact)")
        }
        #expect(abs(batch.values[0] - 25) < 2.5 && abs(batch.values[2] - 4) < 0.5)
        // Each online direction lies in the batch top-3 subspace: squared projection ≥ 0.99.
        for b in model.basis {
            let inside = batch.vectors.prefix(3).reduce(0.0) { s, e in
                let c = zip(b, e).reduce(0.0) { $0 + $1.0 * $1.1 }
                return s + c * c
            }
            #expect(inside > 0.99, "share of the direction inside the batch subspace: \(inside)")
        }
        // Residuals of held-out samples: what remains is the noise, √(29 · 0.01) ≈ 0.54, and the
        // online model's residuals match the batch model's within 0.1 % on average.
        var online = 0.0, exact = 0.0
        for x in test {
            online += model.residual(x)
            exact += batch.residual(x, rank: 3)
        }
        #expect(abs(online - exact) / exact < 0.001, "mean residual \(online / 300) vs batch \(exact / 300)")
        #expect(abs(exact / 300 - 0.54) < 0.05)
        // The basis stays orthonormal.
        let basis = model.basis
        for i in 0..<3 {
            for j in 0..<3 {
                let c = zip(basis[i], basis[j]).reduce(0.0) { $0 + $1.0 * $1.1 }
                #expect(abs(c - (i == j ? 1 : 0)) < 1e-12)
            }
        }
    }

    @Test func effectiveRankFollowsExplainedVariance() {
        let d = 32
        var source = LowRankSource(dimension: d, scales: [5, 3, 2], noise: 0.1, seed: 6)
        var model = OnlineSubspace(dimension: d, rank: 6)
        for _ in 0..<6000 { model.update(source.sample()) }
        // Total variance 25 + 9 + 4 + 32 · 0.01 = 38.32 (sampled, within 5 %).
        #expect(abs(model.totalVariance - 38.32) / 38.32 < 0.05, "total variance \(model.totalVariance)")
        // Shares: 65 %, 89 %, 99 % for 1, 2, 3 components.
        #expect(model.effectiveRank(explaining: 0.6) == 1)
        #expect(model.effectiveRank(explaining: 0.85) == 2)
        #expect(model.effectiveRank(explaining: 0.95) == 3)
        #expect(model.effectiveRank(explaining: 1) >= 4)
    }

    @Test func residualThresholdSeparatesNovelVectors() {
        let d = 32
        var source = LowRankSource(dimension: d, scales: [5, 3, 2], noise: 0.1, seed: 2)
        var model = OnlineSubspace(dimension: d, rank: 3, amnesia: 2)
        for _ in 0..<4000 { model.update(source.sample()) }
        let cut = model.threshold(sigmas: 4)
        // Normal samples: residual ≈ 0.54 ± 0.07; almost none above mean + 4σ.
        let normal = (0..<500).map { _ in model.residual(source.sample()) }
        #expect(Double(normal.filter { $0 > cut }.count) / 500 < 0.01)
        // The cut comes from the stream's own residuals once the model has formed: it matches
        // mean + 4σ of fresh normal samples within 10 %.
        let m = normal.reduce(0, +) / 500
        let sd = (normal.reduce(0.0) { $0 + ($1 - m) * ($1 - m) } / 499).squareRoot()
        #expect(abs(cut - (m + 4 * sd)) / (m + 4 * sd) < 0.1, "cut \(cut) vs \(m + 4 * sd)")
        // Off the subspace by 2 along a direction orthogonal to it: residual ≈ √(4 + 0.29).
        var off = LowRankSource(dimension: d, scales: [1], noise: 0, seed: 99).directions[0]
        for e in source.directions {
            let c = zip(off, e).reduce(0.0) { $0 + $1.0 * $1.1 }
            for j in 0..<d { off[j] -= c * e[j] }
        }
        let n = off.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        let novel = (0..<100).map { _ -> Double in
            let x = source.sample()
            return model.residual(zip(x, off).map { $0 + 2 * $1 / n })
        }
        #expect(novel.allSatisfy { $0 > cut })
        let novelMean: Double = novel.reduce(0, +) / 100
        let expected: Double = (4.0 + 0.29).squareRoot()
        #expect(abs(novelMean - expected) < 0.15)
    }

    @Test func amnesiaFollowsAStreamThatChanges() {
        let d = 16
        var before = LowRankSource(dimension: d, scales: [4], noise: 0.05, seed: 3)
        var after = LowRankSource(dimension: d, scales: [4], noise: 0.05, seed: 4)
        // Old samples fade by 1 − 3/200 each: after 300 new ones, e^−4.5 of the old direction.
        var forgetful = OnlineSubspace(dimension: d, rank: 1, amnesia: 2, horizon: 200)
        var faithful = OnlineSubspace(dimension: d, rank: 1, amnesia: 0)
        for _ in 0..<2000 { let x = before.sample(); forgetful.update(x); faithful.update(x) }
        for _ in 0..<300 { let x = after.sample(); forgetful.update(x); faithful.update(x) }
        func alignment(_ m: OnlineSubspace) -> Double {
            abs(zip(m.basis[0], after.directions[0]).reduce(0.0) { $0 + $1.0 * $1.1 })
        }
        // With amnesia the new direction is found sooner.
        #expect(alignment(forgetful) > alignment(faithful))
        #expect(alignment(forgetful) > 0.9)
    }

    @Test func snapshotsRoundTrip() throws {
        var source = LowRankSource(dimension: 8, scales: [3, 1], noise: 0.1, seed: 5)
        var model = OnlineSubspace(dimension: 8, rank: 2, amnesia: 1)
        for _ in 0..<200 { model.update(source.sample()) }
        let restored = try JSONDecoder().decode(OnlineSubspace.self, from: JSONEncoder().encode(model))
        #expect(restored == model)
        let x = source.sample()
        #expect(restored.residual(x) == model.residual(x))
    }

    @Test func runningStatisticsMatchTwoPass() {
        var s = RunningStatistics()
        let xs = (0..<1000).map { 1e6 + Double($0 % 17) * 0.1 }
        for x in xs { s.add(x) }
        let mean = xs.reduce(0, +) / 1000
        let variance = xs.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / 999
        #expect(abs(s.mean - mean) < 1e-12 * mean && abs(s.variance - variance) < 1e-8)
    }
}
