import Holon
import Packets

/// Drift lines drawn again from a warmup without the attack that ran through it (issue 14 §2).
///
/// The lines come from the spread of the drift during warmup. When ``WarmupAudit`` finds an
/// attack there, that spread was measured on traffic that included it — the attack's own
/// fluctuations, against a baseline that included it — and says nothing of the clean traffic
/// the detector judges from then on: scaled by the clean share alone (the sampling-noise
/// correction of ``DriftNoise``) the lines of a warmup under a 5× chargen reflection sat 6×
/// those of the same traffic's clean warmup, blunting detection of the next attack. So the
/// clean packets the baseline kept are replayed in time order through the warmup's own measure
/// (the same tick, half-life and growing baseline), and the lines calibrated on that drift.
extension Detector {
    /// The drift lines (``DriftLines``) of calibrated drift statistics, at this config's sigmas.
    func lines(from s: RunningStats) -> (open: Double, close: Double) {
        let lines = DriftLines(calibration: s, openSigmas: config.openSigmas, closeSigmas: config.closeSigmas)
        return (lines.open, lines.close)
    }

    /// The drift the warmup from `start` to `end` would have measured on `packets` alone (the
    /// readings from halfway through the warmup, as calibration takes them).
    ///
    /// `sampledShare` is the share of the warmup's samples `packets` stands for (the reservoir
    /// holds a uniform sample of them once there are more than it keeps): the recent window
    /// then holds that share of the samples it would, and the drift of sampling noise, which
    /// falls as 1 / (samples held) (``DriftNoise``), reads 1 / share times higher. Each reading
    /// is scaled back by the share.
    static func warmupDrift(of packets: [PacketFeatures], from start: UInt64, to end: UInt64, calibratingFrom half: UInt64,
                            tickNs: UInt64, decayPerTick: Double, sampledShare: Double, dimension: Int,
                            encode: (PacketFeatures) -> Hypervector) -> RunningStats {
        var stats = RunningStats()
        var grown = Accumulator(dimension: dimension), recent = Accumulator(dimension: dimension)
        var next = start &+ tickNs
        func tick(through t: UInt64) {
            while next <= t && next <= end {
                recent.decay(by: decayPerTick)
                if next >= half && grown.count > 0 { stats.add(sampledShare * (1 - recent.cosine(grown))) }
                next &+= tickNs
            }
        }
        for f in packets.sorted(by: { $0.timestamp < $1.timestamp }) where f.timestamp >= start && f.timestamp < end {
            tick(through: f.timestamp)
            let v = encode(f)
            grown.add(v)
            recent.add(v)
        }
        tick(through: end)
        return stats
    }
}
