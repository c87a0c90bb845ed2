@testable import Detection
import Foundation
import Packets
import Testing
import Traffic

/// Issue 12 §4: the drift calibration on its own. The lines are checked against a reference
/// computed here from the same drift readings (two-pass mean and sample standard deviation,
/// not the detector's running Welford sums), by the rule ``DriftLines`` documents:
/// open = max(mean + openSigmas·σ, 2·max, 4·mean), close = max(mean + closeSigmas·σ, max, 2·mean).
struct CalibrationTests {
    typealias Gen = SplitMix64

    /// The documented rule, computed from the readings themselves.
    static func reference(_ xs: [Double], openSigmas: Double = 8, closeSigmas: Double = 4)
        -> (open: Double, close: Double, mean: Double, sigma: Double, max: Double) {
        let n = Double(xs.count)
        let mean = xs.reduce(0, +) / n
        let sigma = max((xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot(), 1e-6)
        let top = xs.max()!
        return (max(mean + openSigmas * sigma, 2 * top, 4 * mean), max(mean + closeSigmas * sigma, top, 2 * mean),
                mean, sigma, top)
    }

    static func lines(_ xs: [Double], openSigmas: Double = 8, closeSigmas: Double = 4) -> DriftLines {
        var s = RunningStats()
        for x in xs { s.add(x) }
        return DriftLines(calibration: s, openSigmas: openSigmas, closeSigmas: closeSigmas)
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300) }

    static func uniform(_ g: inout Gen) -> Double { Double(g.next() >> 11) / Double(1 << 53) }

    /// Three sets of readings, each made so that a different term sets the lines.
    static func cases() -> [(name: String, readings: [Double], open: String, close: String)] {
        var g = Gen(seed: 21)
        // Spread as wide as the values: the σ terms are highest (mean + 8σ ≈ 2.8 > 2·max ≈ 2).
        let wide = (0..<200).map { _ in uniform(&g) }
        // Steady with one outlier: the worst value is (2·max = 2 > mean + 8σ ≈ 0.82).
        let spike = (0..<99).map { _ in 0.01 } + [1.0]
        // Tight around a mean: the mean is (4·mean ≈ 0.04 > 2·max ≈ 0.02).
        let tight = (0..<200).map { _ in 0.01 + 0.0001 * uniform(&g) }
        return [("wide", wide, "sigma", "sigma"), ("spike", spike, "max", "max"), ("tight", tight, "mean", "mean")]
    }

    @Test func linesAreTheDocumentedRuleOnTheirReadings() {
        for c in Self.cases() {
            let r = Self.reference(c.readings)
            let l = Self.lines(c.readings)
            #expect(Self.close(l.open, r.open), "\(c.name): open \(l.open) vs \(r.open)")
            #expect(Self.close(l.close, r.close), "\(c.name): close \(l.close) vs \(r.close)")
            // Each case is the one its name says: the term it was built for sets the lines.
            let openTerm = [("sigma", r.mean + 8 * r.sigma), ("max", 2 * r.max), ("mean", 4 * r.mean)].max { $0.1 < $1.1 }!.0
            let closeTerm = [("sigma", r.mean + 4 * r.sigma), ("max", r.max), ("mean", 2 * r.mean)].max { $0.1 < $1.1 }!.0
            #expect(openTerm == c.open && closeTerm == c.close, "\(c.name): \(openTerm), \(closeTerm)")
        }
    }

    @Test func theCloseLineIsBelowTheOpenLine() {
        var g = Gen(seed: 22)
        for trial in 0..<200 {
            // Drift is 1 − cosine: never negative. Scales from 1e-5 to 1, spreads from none up.
            let scale = pow(10, -5 * Self.uniform(&g)), spread = Self.uniform(&g)
            let n = 2 + Int(g.next() % 300)
            let xs = (0..<n).map { _ in scale * (1 + spread * (Self.uniform(&g) - 0.5)) }
            let l = Self.lines(xs)
            #expect(l.close < l.open, "trial \(trial): close \(l.close), open \(l.open)")
        }
        for c in Self.cases() { #expect(Self.lines(c.readings).close < Self.lines(c.readings).open, "\(c.name)") }
    }

    /// More noise never lowers the lines, and raises them wherever the spread (σ or the worst
    /// value) is what sets them. Where the mean sets them (4·mean above the spread), spreading
    /// the readings around the same mean leaves them where they were.
    @Test func moreNoiseGivesHigherLines() {
        // The same mean, the readings spread twice and four times as far from it.
        for c in Self.cases() {
            let m = c.readings.reduce(0, +) / Double(c.readings.count)
            let spread = [1.0, 2, 4].map { k in Self.lines(c.readings.map { m + k * ($0 - m) }) }
            if c.open == "mean" {
                #expect(spread.allSatisfy { Self.close($0.open, spread[0].open) && Self.close($0.close, spread[0].close) }, "\(c.name): \(spread)")
            } else {
                #expect(spread[0].open < spread[1].open && spread[1].open < spread[2].open, "\(c.name): \(spread)")
                #expect(spread[0].close < spread[1].close && spread[1].close < spread[2].close, "\(c.name): \(spread)")
            }
        }
    }

    /// Readings that never varied still leave a margin: σ is taken as at least
    /// ``DriftLines/minSigma``, so a drift of exactly the calibrated value is not a crossing.
    @Test func steadyReadingsStillLeaveAMargin() {
        let zero = Self.lines([Double](repeating: 0, count: 100))
        #expect(zero.open == 8 * DriftLines.minSigma && zero.close == 4 * DriftLines.minSigma, "\(zero)")
        #expect(zero.close > 0)
        let steady = Self.lines([Double](repeating: 0.02, count: 100))
        #expect(Self.close(steady.open, 4 * 0.02) && Self.close(steady.close, 2 * 0.02), "\(steady)")
    }

    @Test func theSigmasCountAsConfigured() {
        let wide = Self.cases()[0].readings
        let r = Self.reference(wide, openSigmas: 12, closeSigmas: 6)
        let l = Self.lines(wide, openSigmas: 12, closeSigmas: 6)
        #expect(Self.close(l.open, r.open) && Self.close(l.close, r.close), "\(l) vs \(r)")
        #expect(l.open > Self.lines(wide).open)
    }

    // MARK: The detector's own calibration

    static func config(calibrationTicks: Int = 50) -> DetectorConfig {
        var c = DetectorConfig()
        c.warmup = .seconds(2)
        c.minCalibrationTicks = calibrationTicks
        return c
    }

    static func traffic(rate: Double, seed: UInt64 = 3) -> [PacketFeatures] {
        Scenario(name: "calibration", seed: seed, phases: [ScenarioPhase(name: "normal", duration: 3, normalRate: rate)])
            .stream().map(\.features)
    }

    /// Warmup driven tick by tick: every tick's drift reading as the detector saw it, and the
    /// tick it armed at.
    static func warmUp(_ packets: [PacketFeatures], _ config: DetectorConfig)
        -> (detector: Detector, start: UInt64, readings: [(t: UInt64, drift: Double)], armedAt: UInt64?) {
        var d = Detector(config: config)
        let start = packets[0].timestamp
        let tick = DetectorConfig.ns(config.tick)
        var next = start + tick
        var readings: [(t: UInt64, drift: Double)] = []
        for f in packets {
            // Each tick the next packet would cross, one at a time, so each reading is seen.
            while f.timestamp >= next {
                d.advance(to: next)
                readings.append((next, d.lastDrift))
                if d.isWarmedUp { return (d, start, readings, next) }
                next += tick
            }
            d.ingest(f)
        }
        return (d, start, readings, nil)
    }

    /// DetectorConfig: "the second half [of warmup] also calibrates the drift threshold".
    static func calibrating(_ w: (detector: Detector, start: UInt64, readings: [(t: UInt64, drift: Double)], armedAt: UInt64?),
                            _ config: DetectorConfig) -> [Double] {
        let half = w.start + DetectorConfig.ns(config.warmup) / 2
        return w.readings.filter { $0.t >= half }.map(\.drift)
    }

    @Test func theDetectorsLinesAreTheRuleOnItsSecondHalfReadings() throws {
        let config = Self.config()
        let w = Self.warmUp(Self.traffic(rate: 1000), config)
        let armedAt = try #require(w.armedAt)
        #expect(armedAt == w.start + DetectorConfig.ns(config.warmup), "armed at the end of warmup")
        try #require(w.detector.warmupFindings.isEmpty, "clean traffic: the lines are not rescaled")
        let xs = Self.calibrating(w, config)
        let r = Self.reference(xs)
        #expect(Self.close(w.detector.openThreshold, r.open), "open \(w.detector.openThreshold) vs \(r.open) from \(xs.count) readings")
        #expect(Self.close(w.detector.closeThreshold, r.close), "close \(w.detector.closeThreshold) vs \(r.close)")
    }

    @Test func tooFewCalibrationTicksKeepItLearning() throws {
        // The second half of a 2 s warmup has 101 ticks of 10 ms; ask for 150.
        let config = Self.config(calibrationTicks: 150)
        var w = Self.warmUp(Self.traffic(rate: 1000), config)
        let armedAt = try #require(w.armedAt)
        let xs = Self.calibrating(w, config)
        #expect(armedAt > w.start + DetectorConfig.ns(config.warmup))
        #expect(xs.count == 150, "armed on the tick of its 150th reading, not before or after: \(xs.count)")
        let events = w.detector.drainEvents()
        #expect(events.contains { if case .learning(_, _, let ticks, 150) = $0 { ticks < 150 } else { false } })
        let r = Self.reference(xs)
        #expect(Self.close(w.detector.openThreshold, r.open), "all 150 readings count")
    }

    @Test func theLinesAreDeterministicForASeed() throws {
        let packets = Self.traffic(rate: 1000)
        let a = Self.warmUp(packets, Self.config()).detector, b = Self.warmUp(packets, Self.config()).detector
        try #require(a.isWarmedUp && b.isWarmedUp)
        #expect(a.openThreshold == b.openThreshold && a.closeThreshold == b.closeThreshold)
        // And the seed is what they are deterministic for: other atoms, other readings.
        var other = Self.config()
        other.seed = 7
        let c = Self.warmUp(packets, other).detector
        #expect(c.openThreshold != a.openThreshold, "\(c.openThreshold)")
    }

    /// DriftNoise: the recent window holds rate × half-life / ln 2 samples, and the drift of
    /// sampling noise falls as 1 / samples held. Learned on an eighth of the rate, the same mix
    /// is calibrated with much higher lines.
    @Test func slowerTrafficIsNoisierAndCalibratesHigherLines() throws {
        let fast = Self.warmUp(Self.traffic(rate: 2000), Self.config()).detector
        let slow = Self.warmUp(Self.traffic(rate: 250), Self.config()).detector
        try #require(fast.isWarmedUp && slow.isWarmedUp)
        #expect(slow.openThreshold > 2 * fast.openThreshold, "slow \(slow.openThreshold), fast \(fast.openThreshold)")
        #expect(slow.closeThreshold > 2 * fast.closeThreshold, "slow \(slow.closeThreshold), fast \(fast.closeThreshold)")
    }
}
