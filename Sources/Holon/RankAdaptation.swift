/// The rule by which an ``OnlineSubspace`` changes how many components it keeps.
///
/// Every `settle` samples the model compares its eigenvalues with its total variance (the
/// trace of the covariance, which CCIPCA tracks alongside):
/// - if the components leave more than `growAbove` of the total unexplained and fewer than
///   `maxRank` are kept, one is added; the next sample's residual (after deflation by the
///   others) starts it, and it learns at the rate of its own age;
/// - otherwise, if the weakest component's eigenvalue is below `dropBelow` of the total and more
///   than `minRank` are kept, it is dropped.
///
/// One change at most per `settle` samples, so a new component's estimate has formed before it
/// is judged. For data of rank `r` over isotropic noise of variance `σ²` per lane, the count
/// settles on `r` when `growAbove` lies between `d·σ²` and the smallest of the `r` eigenvalues
/// (as shares of the total) and `dropBelow` lies below that smallest eigenvalue's share.
///
/// A change restarts the residual statistics behind `threshold(sigmas:)`: residuals measured
/// against a different number of components are not the same quantity.
public struct RankAdaptation: Sendable, Codable, Equatable {
    public let minRank: Int
    public let maxRank: Int
    /// Share of the total variance left unexplained above which a component is added.
    public let growAbove: Double
    /// Share of the total variance below which the weakest component is dropped.
    public let dropBelow: Double
    /// Samples between decisions.
    public let settle: Int
    /// The sample count at which each component started (0: not yet).
    var starts: [Int] = []
    /// Rank changes so far (added + dropped).
    public internal(set) var changes = 0

    public init(minRank: Int = 1, maxRank: Int, growAbove: Double = 0.05, dropBelow: Double = 0.02, settle: Int = 200) {
        precondition(0 < minRank && minRank <= maxRank, "RankAdaptation: need 0 < minRank (\(minRank)) ≤ maxRank (\(maxRank))")
        precondition(0 < dropBelow && dropBelow < 1 && 0 < growAbove && growAbove < 1,
                     "RankAdaptation: growAbove (\(growAbove)) and dropBelow (\(dropBelow)) are shares in (0, 1)")
        precondition(settle > 0, "RankAdaptation: settle must be > 0")
        self.minRank = minRank
        self.maxRank = maxRank
        self.growAbove = growAbove
        self.dropBelow = dropBelow
        self.settle = settle
    }
}

extension OnlineSubspace {
    /// The share of the total variance the started components leave unexplained (0 before any
    /// variance is seen).
    public var unexplainedShare: Double {
        totalVariance > 0 ? Swift.max(0, 1 - eigenvalues.reduce(0, +) / totalVariance) : 0
    }

    /// Applies the adaptation rule; called by `update` after each sample.
    mutating func adaptRank() {
        guard let a = adaptation, count % a.settle == 0 else { return }
        // A component not yet started has no estimate to judge.
        guard !vectors.contains(where: \.isEmpty) else { return }
        if rank < a.maxRank && unexplainedShare > a.growAbove {
            vectors.append([])
            adaptation!.starts.append(0)
        } else if rank > a.minRank, let (weakest, value) = eigenvalues.enumerated().min(by: { $0.element < $1.element }),
                  value < a.dropBelow * totalVariance {
            vectors.remove(at: weakest)
            adaptation!.starts.remove(at: weakest)
        } else {
            return
        }
        adaptation!.changes += 1
        residualStatistics = RunningStatistics()
    }
}
