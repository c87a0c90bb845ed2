import Holon
import Packets

/// What normal looks like: the packet vectors' sum, a reservoir of packets to check rules
/// against, the sample rate, and the spread of the detector's own drift measure. Learned during
/// warmup (or read back from a ``DetectorSnapshot``), then adapted slowly while armed
/// (``absorb(_:share:)``).
struct Baseline {
    private(set) var accumulator: Accumulator
    private var batch: LaneCounter
    /// Uniform sample of warmup packets (reservoir sampling, seeded: reproducible).
    private(set) var reservoir: [PacketFeatures] = []
    let reservoirCapacity: Int
    private(set) var samples = 0
    private(set) var firstTimestamp: UInt64?
    private(set) var lastTimestamp: UInt64 = 0
    /// The sample rate once warmup is over: from then on it moves with the adaptation, not
    /// with the warmup's first and last timestamps (which a restored baseline has from another run).
    private(set) var settledRate: Double?
    var drift = RunningStats()
    private(set) var rng: Xoshiro256
    /// Source addresses seen in normal traffic, warmup and adaptation (bounded): the population of real users. Traffic a
    /// rule drops that comes mostly from them is real users, not an attack.
    private(set) var sources = AddressSet()
    static let maxSources = 1 << 20

    init(dimension: Int, reservoirCapacity: Int, seed: UInt64) {
        accumulator = Accumulator(dimension: dimension)
        batch = LaneCounter(dimension: dimension)
        self.reservoirCapacity = reservoirCapacity
        rng = Xoshiro256(seed: seed ^ 0x6261_7365)
        reservoir.reserveCapacity(reservoirCapacity)
    }

    /// A baseline read back from a snapshot (already checked against the detector's config).
    init(restoring s: DetectorSnapshot, reservoirCapacity: Int) {
        accumulator = Accumulator(dimension: s.dimension, sums: s.sums, weight: s.weight, count: s.vectorCount)
        batch = LaneCounter(dimension: s.dimension)
        self.reservoirCapacity = reservoirCapacity
        reservoir = Array(s.reservoir.prefix(reservoirCapacity))
        samples = s.samples
        firstTimestamp = s.firstTimestamp
        lastTimestamp = s.lastTimestamp
        settledRate = s.sampleRate
        drift = s.drift
        rng = Xoshiro256(state: s.rngState) ?? Xoshiro256(seed: s.seed ^ 0x6261_7365)
        sources = AddressSet(s.sources)
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

    /// Ends warmup: the rate measured so far becomes the rate adaptation moves from.
    mutating func freeze() {
        settle()
        settledRate = warmupRate
    }

    /// Samples per second (multiply by the sampling rate for packets).
    var sampleRate: Double { settledRate ?? warmupRate }

    private var warmupRate: Double {
        guard let first = firstTimestamp, lastTimestamp > first else { return 0 }
        return Double(samples - 1) / (Double(lastTimestamp - first) / 1e9)
    }

    /// Mixes a stretch of cleared normal traffic in at `share` (0…1): the accumulator's mean
    /// direction, the rate and the reservoir each move that share toward the epoch's, so the
    /// baseline forgets exponentially in traffic time whatever the packet rate. The total
    /// weight stays as it was, so presence values keep their scale.
    mutating func absorb(_ epoch: LearningEpoch, share a: Double) {
        guard a > 0, epoch.samples > 0, epoch.accumulator.weight > 0 else { return }
        let a = min(a, 1)
        let w = accumulator.weight
        accumulator.decay(by: 1 - a)
        accumulator.merge(epoch.accumulator, scaledBy: a * w / epoch.accumulator.weight)
        samples += epoch.samples
        settledRate = (1 - a) * sampleRate + a * epoch.rate
        // The same share of the reservoir is replaced by packets drawn uniformly from the
        // epoch; stochastic rounding keeps the expected share exact at small counts.
        let exact = a * Double(reservoir.count)
        var k = Int(exact)
        if Double(rng.next() >> 11) / Double(1 << 53) < exact - Double(k) { k += 1 }
        k = min(k, epoch.picks.count)
        if k > 0 && !reservoir.isEmpty {
            for f in epoch.picks.shuffled(using: &rng).prefix(k) {
                reservoir[Int(rng.next() % UInt64(reservoir.count))] = f
            }
        }
        for s in epoch.sources where sources.count < Self.maxSources { sources.insert(s) }
    }

    /// Leaves out what `isAttack` picks from a baseline learned over an attack (issue 14 §2):
    /// the reservoir keeps the rest, the vector sum is rebuilt from it (at most `maxEncoded`
    /// packets, weighted to the clean samples' count), sources only the attack sent are
    /// forgotten, and the rate becomes the clean traffic's. Returns the share kept.
    mutating func exclude(where isAttack: (PacketFeatures) -> Bool, maxEncoded: Int = 16_384,
                          encode: (PacketFeatures) -> Hypervector) -> Double {
        settle()
        guard !reservoir.isEmpty else { return 1 }
        let clean = reservoir.filter { !isAttack($0) }
        let kept = Double(clean.count) / Double(reservoir.count)
        guard kept < 1, !clean.isEmpty else { return kept }
        let cleanSources = Set(clean.map(\.srcIP))
        let forgotten = Set(reservoir.filter { isAttack($0) && !cleanSources.contains($0.srcIP) }.map(\.srcIP))
        // Rebuilt rather than removed from: the set is made for the per-packet lookup, and this
        // runs once, at calibration.
        if !forgotten.isEmpty { sources = AddressSet(sources.filter { !forgotten.contains($0) }) }
        let step = max(1, clean.count / maxEncoded)
        let picked = stride(from: 0, to: clean.count, by: step).map { clean[$0] }
        let weight = Double(samples) * kept / Double(picked.count)
        var acc = Accumulator(dimension: accumulator.dimension)
        for f in picked { acc.add(encode(f), weight: weight) }
        accumulator = acc
        reservoir = clean
        let rate = sampleRate
        samples = max(1, Int((Double(samples) * kept).rounded()))
        settledRate = rate * kept
        return kept
    }

    /// Share of baseline packets a conjunction matches.
    func share(_ set: PacketSet) -> Double {
        reservoir.isEmpty ? 0 : Double(set.population) / Double(reservoir.count)
    }
}
