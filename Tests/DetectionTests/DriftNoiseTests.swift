@testable import Detection
import Foundation
import Packets
import Testing
import Traffic
import TestSupport

/// Issue 12 §4: ``DriftNoise`` on its own. A detector learned at 2,000 samples/s then sees the
/// same mix at other rates: its rate reading, the factor its lines are raised by, and the premise
/// behind that factor (sampling noise's drift grows as the rate falls) are checked against the
/// rate the traffic was made at.
@Suite(.ownThread) struct DriftNoiseTests {
    static let learnedRate = 2000.0

    /// Ticks of `seconds` of the default mix at `rate` after `start`, driven one tick at a time:
    /// per tick, the detector's rate reading, noise scale and drift once the recent window has
    /// forgotten the learned rate (after 3 s: twelve half-lives of 250 ms leave 1/4096 of the
    /// old weight, under 3 % of the new one even at 1/100 of the rate).
    static func run(_ learned: Detector, from start: UInt64, rate: Double, seconds: Double = 4, seed: UInt64 = 9)
        -> (detector: Detector, rates: [Double], scales: [Double], drifts: [Double]) {
        var d = learned
        var packets = Scenario(name: "noise", seed: seed, phases: [ScenarioPhase(name: "normal", duration: seconds, normalRate: rate)])
            .stream().map(\.features)
        let shift = start - packets[0].timestamp
        for i in packets.indices { packets[i].timestamp += shift }
        let tick = DetectorConfig.ns(d.config.tick)
        let settled = start + 3_000_000_000
        var next = start + tick
        var rates: [Double] = [], scales: [Double] = [], drifts: [Double] = []
        for f in packets {
            while f.timestamp >= next {
                d.advance(to: next)
                if next >= settled { rates.append(d.recentSampleRate); scales.append(d.noiseScale); drifts.append(d.lastDrift) }
                next += tick
            }
            d.ingest(f)
        }
        return (d, rates, scales, drifts)
    }

    static func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
    static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    static func learned() throws -> (detector: Detector, armedAt: UInt64) {
        let w = CalibrationTests.warmUp(CalibrationTests.traffic(rate: learnedRate), CalibrationTests.config())
        return (w.detector, try #require(w.armedAt))
    }

    @Test func theRateReadingIsTheRateOfTheTraffic() throws {
        let (d, armedAt) = try Self.learned()
        #expect(abs(d.baseline.sampleRate - Self.learnedRate) / Self.learnedRate < 0.1, "baseline rate \(d.baseline.sampleRate)")
        for rate in [4000.0, 2000, 500, 100] {
            let r = Self.run(d, from: armedAt, rate: rate)
            let m = Self.median(r.rates)
            #expect(abs(m - rate) / rate < 0.1, "\(rate)/s read as \(m)/s")
        }
    }

    /// The lines are raised by baseline rate / current rate, never below 1 (faster traffic is
    /// less noisy) and never above ``Detector/maxNoiseScale``.
    @Test func theScaleIsTheLearnedRateOverTheCurrentRate() throws {
        let (d, armedAt) = try Self.learned()
        let base = d.baseline.sampleRate
        for rate in [4000.0, 2000, 1000, 500, 250, 20] {
            let r = Self.run(d, from: armedAt, rate: rate)
            let expected = min(Detector.maxNoiseScale, max(1, base / rate))
            let m = Self.median(r.scales)
            #expect(abs(m - expected) / expected < 0.12, "\(rate)/s: scale \(m), expected \(expected)")
            #expect(r.scales.allSatisfy { $0 >= 1 && $0 <= Detector.maxNoiseScale }, "\(rate)/s")
        }
    }

    /// The premise: the same mix's drift grows about as the rate falls (1 / samples held), so
    /// raising the lines by the rate ratio keeps a quiet spell from being an incident — and
    /// without the raise it would be one.
    @Test func slowerTrafficDriftsByTheRateRatioAndIsNoIncident() throws {
        let (d, armedAt) = try Self.learned()
        let full = Self.mean(Self.run(d, from: armedAt, rate: Self.learnedRate).drifts)
        for k in [2.0, 4, 8] {
            let r = Self.run(d, from: armedAt, rate: Self.learnedRate / k)
            let ratio = Self.mean(r.drifts) / full
            #expect(ratio > 0.5 * k && ratio < 2 * k, "at 1/\(Int(k)) of the rate the drift is \(ratio)× (expected about \(k)×)")
            #expect(r.detector.incidents.isEmpty, "1/\(Int(k)) of the rate opened \(r.detector.incidents.count) incident(s)")
        }
        // At an eighth of the rate, noise alone crosses the unscaled open line: the scale matters.
        let slow = Self.run(d, from: armedAt, rate: Self.learnedRate / 8)
        #expect((slow.drifts.max() ?? 0) > d.openThreshold, "peak \(slow.drifts.max() ?? 0), open line \(d.openThreshold)")
    }
}
