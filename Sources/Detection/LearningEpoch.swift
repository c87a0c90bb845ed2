import Holon
import Packets

/// One stretch (about a second) of armed traffic that the baseline may learn, held back until
/// it is known to have been normal: its vectors' sum, a small uniform sample of its packets,
/// the new sources it brought, and how many samples it held over how long.
struct LearningEpoch {
    private(set) var accumulator: Accumulator
    private var batch: LaneCounter
    /// Uniform sample (reservoir sampling) of the epoch's packets, for the baseline's reservoir.
    private(set) var picks: [PacketFeatures] = []
    let pickCapacity: Int
    /// Sources not in the baseline yet (bounded: a flood of spoofed sources never gets here,
    /// it taints its epoch, but a bound costs nothing).
    private(set) var sources = Set<IPAddress>()
    static let maxSources = 4096
    private(set) var samples = 0
    let start: UInt64
    private(set) var end: UInt64

    init(dimension: Int, pickCapacity: Int, start: UInt64) {
        accumulator = Accumulator(dimension: dimension)
        batch = LaneCounter(dimension: dimension)
        self.pickCapacity = max(1, pickCapacity)
        self.start = start
        end = start
    }

    mutating func add(_ f: PacketFeatures, vector: Hypervector, known: Set<IPAddress>, rng: inout Xoshiro256) {
        batch.add(vector)
        if batch.isFull { batch.flush(into: &accumulator) }
        samples += 1
        if picks.count < pickCapacity {
            picks.append(f)
        } else {
            let j = Int(rng.next() % UInt64(samples))
            if j < pickCapacity { picks[j] = f }
        }
        if sources.count < Self.maxSources && !known.contains(f.srcIP) { sources.insert(f.srcIP) }
    }

    /// Closes the epoch at `t`: every vector is in the accumulator.
    mutating func finish(at t: UInt64) {
        batch.flush(into: &accumulator)
        end = max(end, t)
    }

    /// Samples per second over the epoch.
    var rate: Double { end > start ? Double(samples) / (Double(end - start) / 1e9) : 0 }
}
