import Foundation
import Holon

/// Saving what a detector learned, and starting a detector armed from it (issue 11 §4).
extension Detector {
    /// What this detector has learned, stamped `savedAt` (wall clock); nil during warmup, when
    /// there is nothing calibrated to save. Cheap enough to take every minute: it copies the
    /// baseline (a few MB at the default sizes), it does not encode anything.
    public func snapshot(savedAt: Date = Date()) -> DetectorSnapshot? {
        guard phase != .warmup else { return nil }
        let acc = baseline.accumulator
        return DetectorSnapshot(
            savedAtNanoseconds: Int64((savedAt.timeIntervalSince1970 * 1e9).rounded()),
            dimension: config.dimension, seed: config.seed, samplingRate: config.samplingRate,
            tickNs: tickNs, halfLifeNs: DetectorConfig.ns(config.halfLife),
            encodingFingerprint: DetectorSnapshot.encodingFingerprint(config),
            openThreshold: openThreshold, closeThreshold: closeThreshold,
            sums: acc.sums, weight: acc.weight, vectorCount: acc.count, baselineNorm: baselineNorm,
            samples: baseline.samples, firstTimestamp: baseline.firstTimestamp, lastTimestamp: baseline.lastTimestamp,
            sampleRate: baseline.sampleRate, drift: baseline.drift, rngState: baseline.rng.state,
            reservoir: baseline.reservoir, sources: Set(baseline.sources), attacks: memory.saved(at: now))
    }

    /// A detector armed from `snapshot`: no warmup, detection from its first samples. Throws
    /// ``SnapshotError/incompatible(_:)`` when the snapshot was learned under other settings.
    ///
    /// The new run's packet time starts with its first sample (ticks, decay, incident times),
    /// as a fresh detector's does. The recent-traffic accumulator starts as the baseline's
    /// direction with the weight that normal traffic at the baseline's rate keeps in it: the
    /// drift starts at zero and, as real samples replace that prior at the usual half-life,
    /// rises to its normal level from below — so the first ticks do not read an almost empty
    /// accumulator as drift, while an attack outweighs the prior as fast as it would outweigh
    /// normal traffic in a long-running detector.
    /// Attacks the snapshot remembers are recognised from their first samples, as they were
    /// before the restart.
    /// Emits ``DetectorEvent/calibrated(openThreshold:closeThreshold:baselinePps:)`` with the
    /// restored lines.
    public init(config: DetectorConfig, restoring snapshot: DetectorSnapshot) throws(SnapshotError) {
        try snapshot.compatibility(with: config)
        self.init(config: config)
        baseline = Baseline(restoring: snapshot, reservoirCapacity: config.reservoirCapacity)
        baselineNorm = baseline.accumulator.norm
        openThreshold = snapshot.openThreshold
        closeThreshold = snapshot.closeThreshold
        memory = AttackMemory(restoring: snapshot.attacks)
        // New incidents number after the remembered ones: numbered from 1 again, a restart's
        // incident 3 read as the remembered incident 3 ("recalled: incident 3's rule") in the
        // logs and the dashboard, even with none of its rules left in the table.
        numberIncidents(after: memory.entries.map(\.firstIncident).max() ?? 0)
        recent = Self.prior(baseline: baseline.accumulator, sampleRate: baseline.sampleRate,
                            tickSeconds: Double(tickNs) / 1e9, decayPerTick: decayPerTick)
        phase = .armed
        events.append(.calibrated(openThreshold: openThreshold, closeThreshold: closeThreshold,
                                  baselinePps: baseline.sampleRate * Double(config.samplingRate)))
    }

    /// The baseline scaled to the steady-state weight of the recent accumulator: each tick
    /// adds `rate × tick` and keeps `decayPerTick` of the rest, so it settles at
    /// `rate × tick / (1 − decayPerTick)`.
    static func prior(baseline: Accumulator, sampleRate: Double, tickSeconds: Double, decayPerTick: Double) -> Accumulator {
        let steady = sampleRate * tickSeconds / max(1 - decayPerTick, 1e-9)
        guard steady > 0, baseline.weight > 0 else { return Accumulator(dimension: baseline.dimension) }
        let f = steady / baseline.weight
        return Accumulator(dimension: baseline.dimension, sums: baseline.sums.map { $0 * Float(f) }, weight: steady, count: 0)
    }
}
