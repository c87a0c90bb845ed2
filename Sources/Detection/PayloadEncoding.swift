import Holon
import Packets

/// A packet's payload head as a record of (position, byte) pairs: `payload@i = byte`. Bundled,
/// the pairs make a vector whose presence of `payload@i ⊗ b` says how many packets carry byte
/// `b` at position `i`, which a marker (the same bytes in every attack packet) raises and random
/// or varied payloads do not.
struct PayloadRecord: Walkable {
    let head: PayloadHead

    static let positions: [FieldName] = (0..<PayloadHead.capacity).map { FieldName("payload@\($0)") }

    func walk<V: WalkVisitor>(into v: inout V) {
        head.withBytes { b in
            for i in 0..<b.count { v.visit(Self.positions[i], Int(b[i])) }
        }
    }
}

/// The payload side of the detector's vectors, in a space of its own.
///
/// Why not in the packet vector: 64 more pairs per packet would cost the per-packet path several
/// times what the header's dozen pairs cost, and the drift a flood raises is in its headers (rate,
/// sources, sizes) anyway. The payload is asked about once an incident is open: the recent
/// group's and a sample of the baseline reservoir's heads are encoded then, and their presences
/// compared (``presence(offset:byte:)``), a few milliseconds per attribution.
struct PayloadVectors {
    /// Enough dimensions for presence differences of a few percent to stand out of the noise
    /// (≈ 1/√d for one vector, much less averaged over hundreds).
    static let dimension = 1024
    /// Packets encoded on each side: presence is a mean, and a uniform sample of 1,024
    /// estimates it to ~3 % of its scale, against a marker's jump of ~50 % of it. More only
    /// delays the rule (each packet is up to 64 pairs).
    static let sample = 1024

    let space: VectorSpace
    let recent: Accumulator
    let baseline: Accumulator

    /// Encodes the heads of up to ``sample`` packets spread evenly over `recent` and as many
    /// over `reservoir` (packets without a payload head add nothing).
    init(recent: [PacketFeatures], reservoir: [PacketFeatures], seed: UInt64) {
        space = VectorSpace(dimension: Self.dimension, seed: seed ^ 0x7061_796C_6F61_64)
        var encoder = VectorEncoder(space: space, pairCacheSlots: 1 << 15)
        func accumulate(_ packets: some Sequence<PacketFeatures>) -> Accumulator {
            var acc = Accumulator(dimension: Self.dimension)
            var v = Hypervector(dimension: Self.dimension)
            for f in packets where f.hasTransportHeader && f.payload.count > 0 {
                encoder.encode(PayloadRecord(head: f.payload), into: &v)
                acc.add(v)
            }
            return acc
        }
        func spread(_ packets: [PacketFeatures]) -> some Sequence<PacketFeatures> {
            let step = max(1, packets.count / Self.sample)
            return stride(from: 0, to: packets.count, by: step).lazy.map { packets[$0] }
        }
        self.recent = accumulate(spread(recent))
        baseline = accumulate(spread(reservoir))
    }

    /// Presence of byte `byte` at `offset` in the recent and the baseline payloads.
    func presence(offset: Int, byte: UInt8) -> (recent: Double, baseline: Double) {
        let pair = space.pair(PayloadRecord.positions[offset], .int(Int(byte)))
        return (recent.presence(of: pair), baseline.presence(of: pair))
    }
}
