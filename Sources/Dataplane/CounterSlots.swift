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
    private var slotOf = SlotIndex(capacity: Int(HOLON_COUNTER_SLOTS))
    /// Per slot: the id holding it (when `used`), the action code its counts are for (a new
    /// action starts from zero; `unknownAction` until a table says), and the last table that
    /// asked for it (``beginTable()``): arrays, so that a whole-table install finds the ids
    /// that left and the actions that changed without a lookup per rule.
    private var used = [Bool](repeating: false, count: Int(HOLON_COUNTER_SLOTS))
    private var idOf = [UInt32](repeating: 0, count: Int(HOLON_COUNTER_SLOTS))
    private var actionOf = [UInt8](repeating: unknownAction, count: Int(HOLON_COUNTER_SLOTS))
    private var askedBy = [UInt32](repeating: 0, count: Int(HOLON_COUNTER_SLOTS))
    private var table: UInt32 = 0
    private var cursor = 1
    static let unknownAction: UInt8 = 0xFF
    /// Slots whose rule changed action since ``beginTable()`` (with the action before): zeroed
    /// once the table is enforced.
    private(set) var changed: [(slot: UInt16, was: UInt8)] = []
    /// The tables' stamps (`holon_table_info.stamp`) when the cache was last known to match
    /// the map: slots are handed out only by installs, which change the stamps, so other stamps
    /// mean another process may have changed `rule_slots`. nil: read it before use.
    var seen: [UInt64]?

    /// Reads `rule_slots`; `stamps` are the tables' stamps now, `installed` the table the
    /// filter enforces (the actions the slots' counts are for).
    mutating func load(_ fd: Int32, stamps: [UInt64], installed: [Rule]) {
        self = CounterSlots()
        var highest = 0
        for (id, slot) in Self.entries(fd) where slot > 0 && slot < HOLON_COUNTER_SLOTS {
            slotOf.set(id, UInt16(slot))
            used[Int(slot)] = true
            idOf[Int(slot)] = id
            highest = max(highest, Int(slot))
        }
        for r in installed {
            if let s = slotOf[r.id] { actionOf[Int(s)] = RuleCompiler.actionCode(r.action) }
        }
        cursor = highest + 1 < used.count ? highest + 1 : 1
        seen = stamps
    }

    /// Slots handed out since the last ``commit(slots:counters:)``: not yet in the map.
    private var pending: [(id: UInt32, slot: UInt16)] = []

    /// The slot `id` holds, if any.
    func slot(of id: UInt32) -> UInt16? { slotOf[id] }

    /// Starts a table: the slots ``slot(for:action:)`` is asked for from here on are its rules'.
    mutating func beginTable() {
        table &+= 1
        changed = []
    }

    /// The slot of `id`, whose action is `action`, handing out a free one when it has none
    /// (recorded by the next ``commit(slots:counters:)``, which must come before a rule using
    /// it is enforced); 0 when none is free (the rule then counts by id, slower but as exact).
    mutating func slot(for id: UInt32, action: UInt8) -> UInt16 {
        if let s = slotOf[id] {
            let i = Int(s)
            askedBy[i] = table
            if actionOf[i] != action {
                if actionOf[i] != Self.unknownAction { changed.append((s, actionOf[i])) }
                actionOf[i] = action
            }
            return s
        }
        guard slotOf.count < used.count - 1 else { return 0 }
        return handOut(id, action: action)
    }

    /// Gives every rule of a compiled table (`rules`, in rank order) its slot (``slot(for:action:)``)
    /// in one pass: a call per rule through a closure into the `Dataplane` cost a 100k-rule
    /// install a few percent.
    mutating func assign(_ rules: inout [holon_rule]) {
        for i in rules.indices {
            rules[i].ctr = slot(for: rules[i].id, action: rules[i].action)
        }
    }

    private mutating func handOut(_ id: UInt32, action: UInt8) -> UInt16 {
        var s = cursor
        while used[s] {
            s = s + 1 < used.count ? s + 1 : 1
        }
        used[s] = true
        idOf[s] = id
        actionOf[s] = action
        askedBy[s] = table
        slotOf.set(id, UInt16(s))
        pending.append((id, UInt16(s)))
        cursor = s + 1 < used.count ? s + 1 : 1
        return UInt16(s)
    }

    /// Ids holding a slot that the current table (since ``beginTable()``) did not ask for:
    /// after a whole-table install, the rules that left.
    func notAsked() -> [UInt32] {
        var out: [UInt32] = []
        for s in 1..<used.count where used[s] && askedBy[s] != table { out.append(idOf[s]) }
        return out
    }

    /// Takes back the slots handed out since the last commit (the table using them failed to
    /// compile).
    mutating func abandon() {
        for p in pending {
            used[Int(p.slot)] = false
            actionOf[Int(p.slot)] = Self.unknownAction
            slotOf.remove(p.id)
        }
        for c in changed.reversed() { actionOf[Int(c.slot)] = c.was }
        pending = []
        changed = []
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
        guard let s = slotOf.remove(id) else { return }
        used[Int(s)] = false
        actionOf[Int(s)] = Self.unknownAction
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
                    out[slot].add(values.load(fromByteOffset: (i * cpus + c) * stride, as: holon_rule_counters.self))
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
                c.add(buf.load(fromByteOffset: i * stride, as: holon_rule_counters.self))
            }
            return c
        }
    }
}
