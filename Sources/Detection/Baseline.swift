import Holon
import Packets

/// What normal looked like during warmup: the packet vectors' sum, a reservoir of packets to
/// check rules against, the sample rate, and the spread of the detector's own drift measure.
struct Baseline {
    private(set) var accumulator: Accumulator
    private var batch: LaneCounter
    /// Uniform sample of warmup packets (reservoir sampling, seeded: reproducible).
    private(set) var reservoir: [PacketFeatures] = []
    let reservoirCapacity: Int
    private(set) var samples = 0
    private(set) var firstTimestamp: UInt64?
    private(set) var lastTimestamp: UInt64 = 0
    var drift = RunningStats()
    private var rng: Xoshiro256
    /// Source addresses seen during warmup (bounded): the population of real users. Traffic a
    /// rule drops that comes mostly from them is real users, not an attack.
    private(set) var sources = Set<IPAddress>()
    static let maxSources = 1 << 20

    init(dimension: Int, reservoirCapacity: Int, seed: UInt64) {
        accumulator = Accumulator(dimension: dimension)
        batch = LaneCounter(dimension: dimension)
        self.reservoirCapacity = reservoirCapacity
        rng = Xoshiro256(seed: seed ^ 0x6261_7365)
        reservoir.reserveCapacity(reservoirCapacity)
    }

    mutating func learn(_ f: PacketFeatures, vector: Hypervector) {
        batch.add(vector)
        if batch.isFull { batch.flush(into: &accumulator) }
        if firstTimestamp == nil { firstTimestamp = f.timestamp }
        lastTimestamp = max(lastTimestamp, f.timestamp)
        samples += 1
        if sources.count < Self.maxSources { sources.insert(f.srcIP) }
        if reservoir.count < reservoirCapacity {
            reservoir.append(f)
        } else {
            let j = Int(rng.next() % UInt64(samples))
            if j < reservoirCapacity { reservoir[j] = f }
        }
    }

    /// Makes `accumulator` include every vector learned so far.
    mutating func settle() { batch.flush(into: &accumulator) }

    /// Samples per second seen during warmup (multiply by the sampling rate for packets).
    var sampleRate: Double {
        guard let first = firstTimestamp, lastTimestamp > first else { return 0 }
        return Double(samples - 1) / (Double(lastTimestamp - first) / 1e9)
    }

    /// Share of baseline packets a conjunction matches.
    func share(_ set: PacketSet) -> Double {
        reservoir.isEmpty ? 0 : Double(set.population) / Double(reservoir.count)
    }
}
