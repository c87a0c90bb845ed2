/// A low-rank linear model of a stream of vectors, learned one vector at a time: the running
/// mean and the top `k` principal components, estimated by CCIPCA ("candid covariance-free
/// incremental PCA", Weng, Zhang & Hwang, IEEE TPAMI 2003) without ever forming the `d × d`
/// covariance. Each update costs `O(k · d)`.
///
/// What it is for: the residual `‖x − mean − reconstruction(x)‖` says how far a vector lies from
/// everything the stream has shown so far — a drift or novelty score that, unlike a cosine with
/// one prototype, knows the *directions* normal traffic varies in. ``threshold(sigmas:)`` turns
/// the residuals of the stream itself into a cut-off (mean + z·σ of the residuals seen).
///
/// The estimator (per sample, with `u₁ = x − mean` and component `i` held as an unnormalised
/// `vᵢ` whose length estimates the eigenvalue):
/// `vᵢ ← ((n − 1 − l)/n) vᵢ + ((1 + l)/n) (uᵢ · vᵢ/‖vᵢ‖) uᵢ`, then `uᵢ₊₁ = uᵢ − (uᵢ · v̂ᵢ) v̂ᵢ`.
/// The `n`-th sample starts component `n` (for `n ≤ k`). `l` is the amnesic parameter: 0 weighs
/// every sample equally (the estimate converges to the batch eigenvectors of a stationary
/// stream); 2–4 favours recent samples. Since a new sample's weight `(1 + l)/n` still shrinks
/// as `n` grows, a model meant to follow a drifting stream also sets a `horizon`: `n` stops
/// growing there, so old samples fade geometrically (by `1 − (1 + l)/horizon` per sample). The
/// mean uses the same weights. Rounding makes the components lose orthogonality slowly; they
/// are re-orthogonalised (Gram–Schmidt, lengths kept) every `reorthogonalizeEvery` updates, and
/// ``basis`` is always orthonormalised, so projections are onto the exact span.
///
/// The component count is fixed unless a ``RankAdaptation`` is given: then components are added
/// while the variance they leave unexplained is a large share of the total, and the weakest is
/// dropped when its eigenvalue becomes a negligible share (see `RankAdaptation.swift`).
public struct OnlineSubspace: Sendable, Codable, Equatable {
    public let dimension: Int
    /// Components kept (`k`); changes only under a ``RankAdaptation``.
    public var rank: Int { vectors.count }
    /// Amnesic parameter `l` (≥ 0).
    public let amnesia: Double
    /// The sample count at which the weights stop shrinking (nil: never).
    public let horizon: Int?
    public let reorthogonalizeEvery: Int
    /// Samples seen.
    public private(set) var count = 0
    public private(set) var mean: [Double]
    /// Running (amnesic) mean of `‖x − mean‖²`: the total variance, the trace of the covariance.
    public private(set) var totalVariance = 0.0
    /// Unnormalised components; `vectors[i]` is empty until sample `i + 1` starts it.
    var vectors: [[Double]]
    /// Residuals of the samples seen after the first `warmup` (each measured before the sample
    /// updated the model). The first samples are left out because the model is still forming
    /// and their large residuals would inflate the threshold for good.
    public internal(set) var residualStatistics = RunningStatistics()
    public let warmup: Int
    /// The rule and state of a changing component count (nil: the count is fixed).
    public internal(set) var adaptation: RankAdaptation?

    /// `warmup` defaults to `20 · rank` samples. With `adapting`, `rank` is the starting count
    /// and must lie within its bounds.
    public init(dimension: Int, rank: Int, amnesia: Double = 0, horizon: Int? = nil, reorthogonalizeEvery: Int = 64, warmup: Int? = nil, adapting: RankAdaptation? = nil) {
        precondition(dimension > 0 && rank > 0 && rank <= dimension,
                     "OnlineSubspace: need 0 < rank (\(rank)) ≤ dimension (\(dimension))")
        precondition(amnesia >= 0, "OnlineSubspace: amnesia must be ≥ 0")
        precondition(horizon == nil || Double(horizon!) > amnesia + 1, "OnlineSubspace: horizon must exceed amnesia + 1")
        self.dimension = dimension
        self.amnesia = amnesia
        self.horizon = horizon
        self.warmup = Swift.max(1, warmup ?? 20 * rank)
        self.reorthogonalizeEvery = Swift.max(1, reorthogonalizeEvery)
        self.mean = [Double](repeating: 0, count: dimension)
        self.vectors = [[Double]](repeating: [], count: rank)
        if let a = adapting {
            precondition(a.minRank <= rank && rank <= a.maxRank && a.maxRank <= dimension,
                         "OnlineSubspace: starting rank \(rank) outside \(a.minRank)...\(a.maxRank) (dimension \(dimension))")
            self.adaptation = a
            self.adaptation!.starts = [Int](repeating: 0, count: rank)
        }
    }

    // MARK: Learning

    /// Learns one sample.
    public mutating func update(_ x: [Double]) {
        precondition(x.count == dimension, "OnlineSubspace.update: \(x.count) lanes, expected \(dimension)")
        if count >= warmup { residualStatistics.add(residual(x)) }
        count += 1
        let n = Double(horizon.map { Swift.min(count, $0) } ?? count)
        // Early on, l is capped so the old estimate's weight (n − 1 − l)/n stays positive.
        let l = Swift.min(amnesia, Swift.max(0, n - 2))
        let keep = (n - 1 - l) / n, learn = (1 + l) / n
        Lanes.blend(&mean, keep, learn, x)
        if count == 1 { return }   // the first sample only places the mean
        var u = Lanes.difference(x, mean)
        totalVariance = keep * totalVariance + learn * Self.dot(u, u)
        for i in 0..<rank {
            if vectors[i].isEmpty {
                vectors[i] = u
                adaptation?.starts[i] = count
                break
            }
            // A component added later learns at the rate of its own age, not the stream's: at
            // the stream's rate (1/n) it would take about n samples to form.
            var (ki, li) = (keep, learn)
            if let start = adaptation?.starts[i], start > 0 {
                let age = Double(horizon.map { Swift.min(count - start + 2, $0) } ?? count - start + 2)
                let la = Swift.min(amnesia, Swift.max(0, age - 2))
                (ki, li) = ((age - 1 - la) / age, (1 + la) / age)
            }
            let norm = Self.norm(vectors[i])
            guard norm > 0 else { break }
            let along = Self.dot(u, vectors[i]) / norm
            Lanes.blend(&vectors[i], ki, li * along, u)
            let newNorm = Self.norm(vectors[i])
            guard newNorm > 0 else { break }
            let c = Self.dot(u, vectors[i]) / (newNorm * newNorm)
            Lanes.add(&u, -c, vectors[i])
        }
        if count % reorthogonalizeEvery == 0 { reorthogonalize() }
        if adaptation != nil { adaptRank() }
    }

    /// Learns a hypervector's lanes (−1, 0, +1).
    public mutating func update(_ v: Hypervector) {
        update(v.values.map(Double.init))
    }

    /// Gram–Schmidt over the started components, keeping each one's length (its eigenvalue).
    public mutating func reorthogonalize() {
        for i in 0..<rank where !vectors[i].isEmpty {
            let length = Self.norm(vectors[i])
            for k in 0..<i where !vectors[k].isEmpty {
                let nk = Self.norm(vectors[k])
                guard nk > 0 else { continue }
                let c = Self.dot(vectors[i], vectors[k]) / (nk * nk)
                Lanes.add(&vectors[i], -c, vectors[k])
            }
            let after = Self.norm(vectors[i])
            if after > 0 { Lanes.scale(&vectors[i], length / after) }
        }
    }

    // MARK: Reading the model

    /// Eigenvalue estimates, one per started component (the components' lengths).
    public var eigenvalues: [Double] { vectors.filter { !$0.isEmpty }.map(Self.norm) }

    /// The fewest leading components whose eigenvalues explain `fraction` of the total variance
    /// (all started components if they never do): the rank the data needs, for choosing how
    /// many components to keep or to use. With eigenvalues 25, 9, 4 over 0.3 of noise, 60 %
    /// needs 1, 85 % needs 2, 95 % needs 3.
    public func effectiveRank(explaining fraction: Double) -> Int {
        precondition(fraction > 0 && fraction <= 1, "effectiveRank: fraction \(fraction) is outside (0, 1]")
        let values = eigenvalues
        var explained = 0.0
        for (i, v) in values.enumerated() {
            explained += v
            if explained >= fraction * totalVariance { return i + 1 }
        }
        return values.count
    }

    /// The started components as orthonormal vectors (Gram–Schmidt in component order, so
    /// the drift since the last re-orthogonalisation does not skew projections).
    public var basis: [[Double]] {
        var out: [[Double]] = []
        for v in vectors where !v.isEmpty {
            var b = v
            for e in out {
                let c = Self.dot(b, e)
                Lanes.add(&b, -c, e)
            }
            let n = Self.norm(b)
            if n > 0 { Lanes.scale(&b, 1 / n); out.append(b) }
        }
        return out
    }

    /// The coordinates of `x − mean` on the basis.
    public func project(_ x: [Double]) -> [Double] {
        precondition(x.count == dimension, "OnlineSubspace.project: \(x.count) lanes, expected \(dimension)")
        let centred = Lanes.difference(x, mean)
        return basis.map { Self.dot(centred, $0) }
    }

    /// `mean + Σ cᵢ bᵢ`: the closest point of the model's affine subspace.
    public func reconstruct(_ x: [Double]) -> [Double] {
        var out = mean
        let centred = Lanes.difference(x, mean)
        for b in basis { Lanes.add(&out, Self.dot(centred, b), b) }
        return out
    }

    /// `‖x − reconstruct(x)‖`: how far `x` lies from what the stream has shown.
    public func residual(_ x: [Double]) -> Double {
        precondition(x.count == dimension, "OnlineSubspace.residual: \(x.count) lanes, expected \(dimension)")
        // (x − mean) less its projections: the same as x − reconstruct(x) up to rounding.
        let centred = Lanes.difference(x, mean)
        var r = centred
        for b in basis { Lanes.add(&r, -Self.dot(centred, b), b) }
        return Lanes.norm(r)
    }

    public func residual(_ v: Hypervector) -> Double { residual(v.values.map(Double.init)) }

    /// `mean + sigmas · σ` of the residuals seen: above it, a vector is unlike the stream.
    public func threshold(sigmas: Double = 3) -> Double {
        residualStatistics.mean + sigmas * residualStatistics.standardDeviation
    }

    // MARK: Arithmetic

    static func dot(_ a: [Double], _ b: [Double]) -> Double { Lanes.dot(a, b) }

    static func norm(_ a: [Double]) -> Double { Lanes.norm(a) }
}

/// Count, mean and variance of a stream of numbers in one pass (Welford's update, which stays
/// accurate where the naive sum of squares cancels).
public struct RunningStatistics: Sendable, Codable, Equatable {
    public private(set) var count = 0
    public private(set) var mean = 0.0
    var squaredDeviations = 0.0

    public init() {}

    public mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        squaredDeviations += delta * (x - mean)
    }

    /// Sample variance (n − 1 in the denominator); 0 for fewer than two values.
    public var variance: Double { count < 2 ? 0 : squaredDeviations / Double(count - 1) }
    public var standardDeviation: Double { variance.squareRoot() }
}
