import CHolonXDP
import CLibBPF
import Glibc
import Rules

/// Which rule ids count their hits and drops in `slot_ctrs`, and in which slot.
///
/// A rule with a slot carries it (`holon_rule.ctr`, slot + 0: slot 0 is never handed out and
/// means "none"), and the program counts it with an array lookup it inlines. Rules beyond the
/// budget (65,535) count in the `rule_ctrs` hash by id, as every rule once did: ~25 ns more for
/// each matched packet. The record of who holds which slot is the `rule_slots` map, pinned like
/// the rest, so every process (and the next one) reads the same; this is its cache.
///
/// A slot belongs to an id while the rule is in the table, through table replacements and
/// edits (both generations carry the same slot). Counters are zeroed when a slot is handed out;
/// freed slots are handed out again only after every other one (next fit), so a packet still
/// reading a rule that just left can never count into its successor.
struct CounterSlots {
    private(set) var slotOf: [UInt32: UInt16] = [:]
    private var used = [Bool](repeating: false, count: Int(HOLON_COUNTER_SLOTS))
    private var cursor = 1
    /// The tables' stamps (`holon_table_info.stamp`) when the cache was last known to match
    /// the map: slots are handed out only by installs, which change the stamps, so other stamps
    /// mean another process may have changed `rule_slots`. nil: read it before use.
    var seen: [UInt64]?

    /// Reads `rule_slots`; `stamps` are the tables' stamps now.
    mutating func load(_ fd: Int32, stamps: [UInt64]) {
        slotOf = [:]
        used = [Bool](repeating: false, count: Int(HOLON_COUNTER_SLOTS))
        var highest = 0
        for (id, slot) in Self.entries(fd) where slot > 0 && slot < HOLON_COUNTER_SLOTS {
            slotOf[id] = UInt16(slot)
            used[Int(slot)] = true
            highest = max(highest, Int(slot))
        }
        cursor = highest + 1 < used.count ? highest + 1 : 1
        seen = stamps
    }

    /// Slots handed out since the last ``commit(slots:counters:)``: not yet in the map.
    private var pending: [(id: UInt32, slot: UInt16)] = []

    /// The slot of `id`, handing out a free one when it has none (recorded by the next
    /// ``commit(slots:counters:)``, which must come before a rule using it is enforced); 0 when
    /// none is free (the rule then counts by id, which is slower but as exact).
    mutating func slot(for id: UInt32) -> UInt16 {
        if let s = slotOf[id] { return s }
        guard slotOf.count < used.count - 1 else { return 0 }
        var s = cursor
        while used[s] {
            s = s + 1 < used.count ? s + 1 : 1
        }
        used[s] = true
        slotOf[id] = UInt16(s)
        pending.append((id, UInt16(s)))
        cursor = s + 1 < used.count ? s + 1 : 1
        return UInt16(s)
    }

    /// Takes back the slots handed out since the last commit (the table using them failed to
    /// compile).
    mutating func abandon() {
        for p in pending {
            used[Int(p.slot)] = false
            slotOf[p.id] = nil
        }
        pending = []
    }

    /// Zeroes the counters of the slots handed out since the last commit and records them in
    /// `rule_slots`, in batches (a 100k-rule table hands out 65,535 at once). On failure the
    /// cache is dropped, to be read again from the map.
    mutating func commit(slots fd: Int32, counters: Int32) throws(DataplaneError) {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        let chunk = 4096
        let stride = ((MemoryLayout<holon_rule_counters>.size + 7) & ~7) * Dataplane.possibleCPUs
        let zeros = [UInt8](repeating: 0, count: chunk * stride)
        var start = 0
        while start < batch.count {
            let part = batch[start..<min(batch.count, start + chunk)]
            let keys = part.map { UInt32($0.slot) }
            let ids = part.map(\.id)
            let values = part.map { UInt32($0.slot) }
            var n = UInt32(part.count), m = UInt32(part.count)
            let zeroed = keys.withUnsafeBytes { k in zeros.withUnsafeBytes { z in bpf_map_update_batch(counters, k.baseAddress, z.baseAddress, &n, nil) } }
            let recorded = zeroed != 0 ? zeroed : ids.withUnsafeBytes { k in
                values.withUnsafeBytes { v in bpf_map_update_batch(fd, k.baseAddress, v.baseAddress, &m, nil) }
            }
            if zeroed != 0 || recorded != 0 {
                let e = errno
                seen = nil
                throw .system(zeroed != 0 ? "zeroing counter slots" : "recording counter slots", code: e)
            }
            start += chunk
        }
    }

    /// Frees the slot of `id` (it left the table).
    mutating func release(_ id: UInt32, slots fd: Int32) {
        guard let s = slotOf.removeValue(forKey: id) else { return }
        used[Int(s)] = false
        var k = id
        _ = bpf_map_delete_elem(fd, &k)
    }

    /// Zeroes a slot's counters on every CPU.
    @discardableResult
    static func zero(_ counters: Int32, slot: UInt32) -> Bool {
        let bytes = ((MemoryLayout<holon_rule_counters>.size + 7) & ~7) * Dataplane.possibleCPUs
        let zeros = [UInt8](repeating: 0, count: bytes)
        var k = slot
        return bpf_map_update_elem(counters, &k, zeros, UInt64(BPF_ANY)) == 0
    }

    /// Every (id, slot) in `rule_slots`, read in batches (a few calls for 65,535 entries, where
    /// walking the keys would take two calls each).
    static func entries(_ fd: Int32) -> [(UInt32, UInt32)] {
        let chunk = 8192
        var keys = [UInt32](repeating: 0, count: chunk), values = [UInt32](repeating: 0, count: chunk)
        var out: [(UInt32, UInt32)] = []
        var token: UInt32 = 0, next: UInt32 = 0
        var first = true
        while true {
            var count = UInt32(chunk)
            let r = keys.withUnsafeMutableBytes { k in
                values.withUnsafeMutableBytes { v in
                    withUnsafeMutablePointer(to: &token) { t in
                        bpf_map_lookup_batch(fd, first ? nil : UnsafeMutableRawPointer(t), &next, k.baseAddress, v.baseAddress, &count, nil)
                    }
                }
            }
            let e = errno
            for i in 0..<Int(count) { out.append((keys[i], values[i])) }
            if r != 0 {
                guard e == ENOENT else { return walked(fd) }   // no batch support: one by one
                return out
            }
            token = next
            first = false
        }
    }

    /// `entries` without batch calls.
    static func walked(_ fd: Int32) -> [(UInt32, UInt32)] {
        var out: [(UInt32, UInt32)] = []
        var key: UInt32 = 0, next: UInt32 = 0
        var r = bpf_map_get_next_key(fd, nil, &next)
        while r == 0 {
            var slot: UInt32 = 0
            var k = next
            if bpf_map_lookup_elem(fd, &k, &slot) == 0 { out.append((next, slot)) }
            key = next
            r = bpf_map_get_next_key(fd, &key, &next)
        }
        return out
    }

    /// Hits and drops of every slot (index = slot), summed over CPUs, read in batches.
    static func counters(_ fd: Int32) -> [RuleCounters] {
        let n = Int(HOLON_COUNTER_SLOTS), cpus = Dataplane.possibleCPUs, chunk = 1024
        let stride = (MemoryLayout<holon_rule_counters>.size + 7) & ~7
        var out = [RuleCounters](repeating: RuleCounters(), count: n)
        var keys = [UInt32](repeating: 0, count: chunk)
        let values = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk * cpus * stride, alignment: 8)
        defer { values.deallocate() }
        var start = 0
        while start < n {
            var token = UInt32(start), next: UInt32 = 0
            var count = UInt32(min(chunk, n - start))
            let r = keys.withUnsafeMutableBytes { k in
                withUnsafeMutablePointer(to: &token) { t in
                    bpf_map_lookup_batch(fd, start == 0 ? nil : UnsafeMutableRawPointer(t), &next, k.baseAddress, values.baseAddress, &count, nil)
                }
            }
            let e = errno
            for i in 0..<Int(count) {
                let slot = Int(keys[i])
                guard slot < n else { continue }
                for c in 0..<cpus {
                    let v = values.load(fromByteOffset: (i * cpus + c) * stride, as: holon_rule_counters.self)
                    out[slot].hits &+= v.hits
                    out[slot].drops &+= v.drops
                }
            }
            if r != 0 && e != ENOENT { return perSlot(fd) }
            if r != 0 || count == 0 { break }
            start = Int(next)
        }
        return out
    }

    /// `counters` without batch calls.
    static func perSlot(_ fd: Int32) -> [RuleCounters] {
        let cpus = Dataplane.possibleCPUs
        let stride = (MemoryLayout<holon_rule_counters>.size + 7) & ~7
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: cpus * stride, alignment: 8)
        defer { buf.deallocate() }
        return (0..<Int(HOLON_COUNTER_SLOTS)).map { s in
            var k = UInt32(s)
            var c = RuleCounters()
            guard bpf_map_lookup_elem(fd, &k, buf.baseAddress) == 0 else { return c }
            for i in 0..<cpus {
                let v = buf.load(fromByteOffset: i * stride, as: holon_rule_counters.self)
                c.hits &+= v.hits
                c.drops &+= v.drops
            }
            return c
        }
    }
}
