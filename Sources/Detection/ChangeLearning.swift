import Holon
import Packets

extension Detector {
    /// Judgements kept: a change judged every 100 ms for minutes must not grow memory.
    public static let maxJudgements = 64

    mutating func record(_ j: ChangeJudgement) {
        judgements.append(j)
        if judgements.count > Self.maxJudgements { judgements.removeFirst(judgements.count - Self.maxJudgements) }
    }

    /// Learns recent traffic that was judged a legitimate change (``ChangeJudge``) into the
    /// baseline, at the smallest share that brings the drift back under the close line.
    ///
    /// The slow adaptation (``DetectorConfig/adaptationHalfLife``) only learns calm traffic, and
    /// growth keeps the drift above the line, so without this a legitimate change would stay an
    /// open question forever. The share is measured, not fixed: just enough of the change that
    /// the present traffic is back within the spread the detector calibrated, so a later attack
    /// on top still stands out against a baseline that did not swing further than it had to.
    mutating func learnChange(_ samples: [PacketFeatures]) {
        // A detector told not to adapt (``DetectorConfig/adaptationHalfLife`` nil) keeps its
        // baseline as warmup left it: the change is spared, not learned.
        guard adaptation != nil, samples.count >= ChangeJudge.minSamples else { return }
        let stamps = samples.lazy.map(\.timestamp)
        var epoch = LearningEpoch(dimension: config.dimension, pickCapacity: samples.count, start: stamps.min()!)
        var rng = Xoshiro256(seed: config.seed ^ UInt64(truncatingIfNeeded: stamps.max()!))
        for f in samples {
            encoder.encode(DetectorRecord(f), into: &vector)
            epoch.add(f, known: baseline.sources, rng: &rng)
            epoch.accumulator.add(vector)
        }
        epoch.finish(at: stamps.max()!)
        let closeLine = closeThreshold * noiseScale
        let w = baseline.accumulator.weight, ew = epoch.accumulator.weight
        guard w > 0, ew > 0 else { return }
        var share = 1.0
        for a in [0.125, 0.25, 0.5] {
            var trial = baseline.accumulator
            trial.decay(by: 1 - a)
            trial.merge(epoch.accumulator, scaledBy: a * w / ew)
            if 1 - recent.cosine(trial) < closeLine {
                share = a
                break
            }
        }
        baseline.absorb(epoch, share: share)
        baselineNorm = baseline.accumulator.norm
        if !judgements.isEmpty { judgements[judgements.count - 1].learnedShare = share }
    }

    /// Unexplained drift from packets normal traffic has, at a rate normal traffic could grow
    /// to (what the residual check calls normal: under three times the baseline's): a shift of
    /// mix, not an attack (``Typicality``). Recorded in ``judgements`` either way.
    mutating func isTypicalGrowth(_ samples: [PacketFeatures]) -> Bool {
        guard samples.count >= ChangeJudge.minSamples else { return false }
        let stamps = samples.lazy.map(\.timestamp)
        let seconds = Double(stamps.max()! - stamps.min()!) / 1e9
        let rate = seconds > 0 ? Double(samples.count) / seconds : .infinity
        var typicality = Typicality(baseline: baseline.accumulator, space: space)
        let v = typicality.judge(recent: samples, reference: baseline.reservoir)
        let slowEnough = rate <= 3 * baseline.sampleRate
        let typical = v.typical && slowEnough
        record(ChangeJudgement(
            legitimate: typical, at: now, rule: "(no rule: unexplained drift)",
            reason: String(format: "%.1f%% of its packets below the baseline's 5%% typicality line %.4f; rate %.1f× the baseline's",
                           v.below * 100, v.line, rate / max(baseline.sampleRate, 1e-9)),
            learnedShare: 0))
        return typical
    }
}
