import Foundation
import Holon
import Packets

/// Decides what armed traffic the baseline learns, and at what pace.
///
/// Traffic is gathered in epochs of ``epochNs`` of packet time. An epoch is learned only after
/// it and the next one both passed clean — armed, no incident open or being attributed, drift
/// below the open threshold on every tick — because an attack's first packets arrive before
/// the drift they cause crosses the line: holding one epoch back keeps them out. Samples a rule
/// matched never get here (the detector returns before), nor do ones the filter dropped.
///
/// Pace: each learned epoch moves the baseline by `1 − 2^(−epoch/halfLife)` toward itself, so a
/// change of normal traffic is half absorbed after ``DetectorConfig/adaptationHalfLife`` of
/// clean traffic, whatever the packet rate.
struct BaselineAdaptation {
    let dimension: Int
    let epochNs: UInt64
    let halfLifeSeconds: Double
    let pickCapacity: Int
    /// Epochs with fewer samples say too little to move the baseline by a whole share.
    static let minSamples = 32
    var current: LearningEpoch?
    var held: LearningEpoch?
    /// The current epoch saw an unclean tick: it and the held one will be dropped.
    var tainted = false
    var rng: Xoshiro256
    private(set) var learned = 0
    private(set) var discarded = 0

    init(dimension: Int, halfLife: Duration, epoch: Duration, reservoirCapacity: Int, seed: UInt64) {
        self.dimension = dimension
        epochNs = max(1, DetectorConfig.ns(epoch))
        halfLifeSeconds = max(1e-3, Double(DetectorConfig.ns(halfLife)) / 1e9)
        let nominal = Self.share(seconds: Double(epochNs) / 1e9, halfLife: halfLifeSeconds)
        pickCapacity = Int((nominal * Double(reservoirCapacity)).rounded(.up)) + 1
        rng = Xoshiro256(seed: seed ^ 0x6164_6170_7421)
    }

    static func share(seconds: Double, halfLife: Double) -> Double { 1 - exp2(-seconds / halfLife) }

    /// Gathers an armed, unmatched sample into the current epoch (nothing while it is tainted).
    /// Returns whether the sample was gathered: then its vector belongs in ``current``'s
    /// accumulator, which the caller fills.
    mutating func observe(_ f: PacketFeatures, known: AddressSet) -> Bool {
        guard !tainted else { return false }
        if current == nil { current = LearningEpoch(dimension: dimension, pickCapacity: pickCapacity, start: f.timestamp) }
        current!.add(f, known: known, rng: &rng)
        return true
    }

    /// Called on every detector tick; returns the epoch to learn now and the share to learn it
    /// at, when one has cleared.
    mutating func tick(at t: UInt64, clean: Bool) -> (epoch: LearningEpoch, share: Double)? {
        if !clean {
            // The change may have begun before this tick: nothing gathered around it is learned.
            if !tainted { discarded += (current == nil ? 0 : 1) + (held == nil ? 0 : 1) }
            tainted = true
            current = nil
            held = nil
            return nil
        }
        if tainted {
            // Clean again: start afresh from here.
            tainted = false
            return nil
        }
        guard var epoch = current, t >= epoch.start &+ epochNs else { return nil }
        epoch.finish(at: t)
        current = nil
        let ready = held
        held = epoch.samples >= Self.minSamples ? epoch : nil
        guard let e = ready else { return nil }
        learned += 1
        // An epoch stretched by a gap in traffic counts for its nominal length, not the gap.
        let seconds = min(Double(e.end - e.start), 2 * Double(epochNs)) / 1e9
        return (e, Self.share(seconds: seconds, halfLife: halfLifeSeconds))
    }
}
