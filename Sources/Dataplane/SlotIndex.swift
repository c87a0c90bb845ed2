/// Rule id → counter slot, for ``CounterSlots``: an open-addressing table sized for every slot
/// at half load, where a `Dictionary` spent ~40 ns hashing each id (SipHash) and was a tenth
/// of a 100k-rule install. Id 0 marks an empty place; the rule language refuses it as an id,
/// but the library takes it, so its slot is kept beside the table. Linear probing with backward-shift deletion: no tombstones to build up
/// through the deletions of a long-running filter.
struct SlotIndex {
    private var ids: [UInt32]
    private var slots: [UInt16]
    private let mask: Int
    /// Odd, drawn per process: ids an operator chose cannot be made to collide on purpose.
    private let multiplier: UInt32
    /// Id 0's slot.
    private var zero: UInt16?
    private(set) var count = 0

    /// Room for `capacity` ids.
    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        ids = [UInt32](repeating: 0, count: size)
        slots = [UInt16](repeating: 0, count: size)
        mask = size - 1
        multiplier = UInt32.random(in: 0...UInt32.max) | 1
    }

    @inline(__always)
    private func home(_ id: UInt32) -> Int {
        // Multiplicative hashing: the product's high bits are the well-mixed ones.
        Int(truncatingIfNeeded: UInt64(id &* multiplier) &* 0x9E37_79B9_7F4A_7C15 >> 32) & mask
    }

    subscript(id: UInt32) -> UInt16? {
        if id == 0 { return zero }
        var i = home(id)
        while true {
            let k = ids[i]
            if k == id { return slots[i] }
            if k == 0 { return nil }
            i = (i + 1) & mask
        }
    }

    /// Records `slot` for `id` (new or not). The caller keeps `count` within the capacity.
    mutating func set(_ id: UInt32, _ slot: UInt16) {
        if id == 0 {
            if zero == nil { count += 1 }
            zero = slot
            return
        }
        var i = home(id)
        while ids[i] != 0 && ids[i] != id { i = (i + 1) & mask }
        if ids[i] == 0 { count += 1 }
        ids[i] = id
        slots[i] = slot
    }

    /// Removes `id`; its slot, if it had one.
    @discardableResult
    mutating func remove(_ id: UInt32) -> UInt16? {
        if id == 0 {
            defer { zero = nil }
            if zero != nil { count -= 1 }
            return zero
        }
        var i = home(id)
        while ids[i] != id {
            if ids[i] == 0 { return nil }
            i = (i + 1) & mask
        }
        let slot = slots[i]
        count -= 1
        // Backward shift: every later id of the run whose home lies at or before the hole
        // moves into it, so lookups never stop at a hole before their id.
        var hole = i
        var j = (i + 1) & mask
        while ids[j] != 0 {
            let h = home(ids[j])
            let movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j)
            if movable {
                ids[hole] = ids[j]
                slots[hole] = slots[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        ids[hole] = 0
        slots[hole] = 0
        return slot
    }
}
