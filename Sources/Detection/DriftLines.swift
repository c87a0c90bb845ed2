/// The drift lines warmup calibrates: drift above `open` (for ``DetectorConfig/ticksToOpen``
/// ticks) opens an incident, drift below `close` re-arms detection.
///
/// Normal traffic's drift is sampling noise plus slow changes of mix that a few seconds of
/// calibration under-sample; an attack moves it by orders of magnitude. So the open line sits
/// above the calibrated spread (`mean + openSigmas·σ`), above twice the worst value seen, and at
/// four times the mean; the close line at `mean + closeSigmas·σ`, the worst value and twice the
/// mean (half of each of the open line's margins with the default sigmas), so it sits below the
/// open line: hysteresis. All relative to what this traffic showed, none tuned to a scenario.
///
/// Kept apart from ``Detector`` so the formula can be checked against the drift readings it is
/// given (Tests/DetectionTests/CalibrationTests.swift).
struct DriftLines: Equatable {
    let open: Double
    let close: Double

    /// The least spread assumed: drift readings that never varied (a perfectly steady stream)
    /// still leave the lines above their mean, so a reading equal to it is not a crossing.
    static let minSigma = 1e-6

    init(calibration s: RunningStats, openSigmas: Double, closeSigmas: Double) {
        let sigma = max(s.standardDeviation, Self.minSigma)
        open = max(s.mean + openSigmas * sigma, 2 * s.max, 4 * s.mean)
        close = max(s.mean + closeSigmas * sigma, s.max, 2 * s.mean)
    }
}
