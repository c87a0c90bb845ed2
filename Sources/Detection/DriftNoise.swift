/// How much of the drift is sampling noise at the current packet rate.
///
/// The drift lines are calibrated at the baseline's rate. The recent accumulator holds about
/// `rate × half-life / ln 2` samples, and the drift that sampling noise alone gives falls as
/// 1 / (samples held): measured after a restore onto slower traffic, the peak drift of normal
/// traffic was 0.71, 1.25, 2.62 and 5.5 × the open line at 1, ½, ¼ and ⅛ of the baseline's rate.
/// So when traffic is slower than the baseline's, both lines are raised by the same factor —
/// a quiet night after a restart learned by day is not an incident, and the baseline can keep
/// adapting. Faster traffic leaves the lines alone (less noise only makes detection surer).
extension Detector {
    /// The most the lines are raised: below 1/64 of the baseline's rate, drift is mostly noise.
    static let maxNoiseScale = 64.0

    /// Samples per second now, from the recent accumulator's weight (each tick adds
    /// `rate × tick` and keeps `decayPerTick` of the rest). Samples a rule matched are not in it.
    var recentSampleRate: Double {
        recent.weight * (1 - decayPerTick) / (Double(tickNs) / 1e9)
    }

    /// `baseline rate / current rate`, between 1 and ``maxNoiseScale``.
    var currentNoiseScale: Double {
        let base = baseline.sampleRate, now = recentSampleRate
        guard base > 0 else { return 1 }
        guard now > 0 else { return Self.maxNoiseScale }
        return min(Self.maxNoiseScale, max(1, base / now))
    }
}
