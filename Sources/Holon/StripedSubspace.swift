/// A vector cut into `stripes` contiguous runs of lanes, each learned by its own
/// ``OnlineSubspace``; the residual is the root sum of squares of the stripes' residuals.
///
/// Why stripes: an encoded record spreads each field over all lanes, but vectors that are
/// concatenations (several encoders side by side, a window of per-slot codes) have structure
/// that is local to a run of lanes. `k` components per stripe capture up to `k · stripes`
/// local directions at the cost of `k` global ones (each update is `O(k · d)` in total), and
/// ``stripeResiduals(_:)`` says *where* a vector departs from the stream. Since the stripes
/// partition the lanes and each stripe's residual is orthogonal to the rest of the vector,
/// `residual(x)² = Σ stripeResiduals(x)²` exactly.
///
/// Stripe `s` holds lanes `[s·d/N, (s+1)·d/N)` (integer division: widths differ by at most one).
public struct StripedSubspace: Sendable, Codable, Equatable {
    public let dimension: Int
    public private(set) var stripes: [OnlineSubspace]
    /// `bounds[s] ..< bounds[s + 1]` are stripe `s`'s lanes.
    public let bounds: [Int]
    /// Combined residuals of the samples seen after `warmup` (measured before each update).
    public private(set) var residualStatistics = RunningStatistics()
    public let warmup: Int
    public private(set) var count = 0

    /// Every stripe gets the same `rank`, `amnesia`, `horizon` and (if given) rank adaptation;
    /// `warmup` defaults to `20 · rank`.
    public init(dimension: Int, stripes n: Int, rank: Int, amnesia: Double = 0, horizon: Int? = nil,
                warmup: Int? = nil, adapting: RankAdaptation? = nil) {
        precondition(n > 0 && dimension >= n, "StripedSubspace: need 0 < stripes (\(n)) ≤ dimension (\(dimension))")
        let bounds = (0...n).map { $0 * dimension / n }
        precondition(rank <= bounds[1] - bounds[0], "StripedSubspace: rank \(rank) exceeds the narrowest stripe (\(bounds[1] - bounds[0]) lanes)")
        self.dimension = dimension
        self.bounds = bounds
        self.warmup = Swift.max(1, warmup ?? 20 * rank)
        self.stripes = (0..<n).map { s in
            OnlineSubspace(dimension: bounds[s + 1] - bounds[s], rank: rank, amnesia: amnesia, horizon: horizon,
                           warmup: warmup, adapting: adapting)
        }
    }

    func lanes(_ x: [Double], _ s: Int) -> [Double] { Array(x[bounds[s]..<bounds[s + 1]]) }

    public mutating func update(_ x: [Double]) {
        precondition(x.count == dimension, "StripedSubspace.update: \(x.count) lanes, expected \(dimension)")
        if count >= warmup { residualStatistics.add(residual(x)) }
        count += 1
        for s in stripes.indices { stripes[s].update(lanes(x, s)) }
    }

    public mutating func update(_ v: Hypervector) { update(v.values.map(Double.init)) }

    /// Each stripe's residual, in stripe order.
    public func stripeResiduals(_ x: [Double]) -> [Double] {
        precondition(x.count == dimension, "StripedSubspace: \(x.count) lanes, expected \(dimension)")
        return stripes.indices.map { stripes[$0].residual(lanes(x, $0)) }
    }

    /// `√(Σ stripe residual²)`: the distance from `x` to its reconstruction, stripe by stripe.
    public func residual(_ x: [Double]) -> Double {
        stripeResiduals(x).reduce(0.0) { $0 + $1 * $1 }.squareRoot()
    }

    public func residual(_ v: Hypervector) -> Double { residual(v.values.map(Double.init)) }

    /// The stripes' reconstructions side by side.
    public func reconstruct(_ x: [Double]) -> [Double] {
        precondition(x.count == dimension, "StripedSubspace: \(x.count) lanes, expected \(dimension)")
        return stripes.indices.flatMap { stripes[$0].reconstruct(lanes(x, $0)) }
    }

    /// `mean + sigmas · σ` of the combined residuals seen after warm-up.
    public func threshold(sigmas: Double = 3) -> Double {
        residualStatistics.mean + sigmas * residualStatistics.standardDeviation
    }
}
