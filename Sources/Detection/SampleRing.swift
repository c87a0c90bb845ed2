import Packets

/// The most recent samples the data plane did not already handle, oldest overwritten first.
/// Attribution reads it; the hot path only writes one record.
struct SampleRing {
    private var slots: [PacketFeatures]
    private var next = 0
    private(set) var filled = 0
    /// Samples written since the ring was created (never wraps in practice).
    private(set) var written = 0

    init(capacity: Int) {
        slots = [PacketFeatures](repeating: PacketFeatures(), count: max(1, capacity))
    }

    var capacity: Int { slots.count }

    @inline(__always)
    mutating func append(_ f: PacketFeatures) {
        slots[next] = f
        next += 1
        if next == slots.count { next = 0 }
        if filled < slots.count { filled += 1 }
        written += 1
    }

    /// The last `n` samples, oldest first.
    func last(_ n: Int) -> [PacketFeatures] {
        let n = min(n, filled)
        var out: [PacketFeatures] = []
        out.reserveCapacity(n)
        var i = (next - n + slots.count) % slots.count
        for _ in 0..<n {
            out.append(slots[i])
            i += 1
            if i == slots.count { i = 0 }
        }
        return out
    }
}
