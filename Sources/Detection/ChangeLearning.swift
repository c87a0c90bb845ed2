import Holon
import Packets

extension Detector {
    /// Learns recent traffic that was judged a legitimate change (``ChangeJudge``) into the
    /// baseline, at the smallest share that brings the drift back under the close line.
    ///
    /// The slow adaptation (``DetectorConfig/adaptationHalfLife``) only learns calm traffic, and
    /// growth keeps the drift above the line, so without this a legitimate change would stay an
    /// open question forever. The share is measured, not fixed: just enough of the change that
    /// the present traffic is back within the spread the detector calibrated, so a later attack
    /// on top still stands out against a baseline that did not swing further than it had to.
    mutating func learnChange(_ samples: [PacketFeatures]) {
        guard samples.count >= ChangeJudge.minSamples else { return }
        let stamps = samples.lazy.map(\.timestamp)
        var epoch = LearningEpoch(dimension: config.dimension, pickCapacity: samples.count, start: stamps.min()!)
        var rng = Xoshiro256(seed: config.seed ^ UInt64(truncatingIfNeeded: stamps.max()!))
        for f in samples {
            encoder.encode(DetectorRecord(f), into: &vector)
            epoch.add(f, vector: vector, known: baseline.sources, rng: &rng)
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
}
