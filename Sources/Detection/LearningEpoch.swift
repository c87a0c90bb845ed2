import Holon
import Packets

/// One stretch (about a second) of armed traffic that the baseline may learn, held back until
/// it is known to have been normal: its vectors' sum, a small uniform sample of its packets,
/// the new sources it brought, and how many samples it held over how long.
struct LearningEpoch {
    /// The sum of the epoch's vectors. The detector counts them once, in the lane counter it
    /// flushes into both this and its recent window (``Detector/flushLearning()``): every vector
    /// learned is also a recent one, and counting it twice cost 7 % of `holon bench detect`.
    var accumulator: Accumulator
    /// Uniform sample (reservoir sampling) of the epoch's packets, for the baseline's reservoir.
    private(set) var picks: [PacketFeatures] = []
    let pickCapacity: Int
    /// Sources not in the baseline yet (bounded: a flood of spoofed sources never gets here,
    /// it taints its epoch, but a bound costs nothing).
    private(set) var sources = AddressSet()
    static let maxSources = 4096
    private(set) var samples = 0
    let start: UInt64
    private(set) var end: UInt64

    init(dimension: Int, pickCapacity: Int, start: UInt64) {
        accumulator = Accumulator(dimension: dimension)
        self.pickCapacity = max(1, pickCapacity)
        self.start = start
        end = start
    }

    /// Counts a sample (its vector reaches ``accumulator`` through the detector's counter).
    mutating func add(_ f: PacketFeatures, known: AddressSet, rng: inout Xoshiro256) {
        samples += 1
        if picks.count < pickCapacity {
            picks.append(f)
        } else {
            let j = Int(rng.next() % UInt64(samples))
            if j < pickCapacity { picks[j] = f }
        }
        if sources.count < Self.maxSources && !known.contains(f.srcIP) { sources.insert(f.srcIP) }
    }

    /// Closes the epoch at `t` (the detector has flushed its vectors into the accumulator).
    mutating func finish(at t: UInt64) {
        end = max(end, t)
    }

    /// Samples per second over the epoch.
    var rate: Double { end > start ? Double(samples) / (Double(end - start) / 1e9) : 0 }
}
