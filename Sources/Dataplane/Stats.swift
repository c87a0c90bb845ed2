import Glibc
import CHolonXDP
import CLibBPF
import Rules

/// Global counters summed over CPUs. `packets == passed + dropped`.
public struct DataplaneStats: Sendable, Hashable, Codable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    public var passed: UInt64 = 0
    public var dropped: UInt64 = 0
    public var rateLimited: UInt64 = 0
    public var matched: UInt64 = 0
    public var counted: UInt64 = 0
    /// Packets of allowlisted sources that met a rule: passed, the rule not applied.
    public var allowlisted: UInt64 = 0
    public var unparsed: UInt64 = 0
    public var observedDrops: UInt64 = 0
    public var sampled: UInt64 = 0
    public var ringFull: UInt64 = 0

    public init() {}

    /// One CPU's counters as the program keeps them.
    init(_ c: holon_stats) {
        packets = c.packets
        bytes = c.bytes
        passed = c.passed
        dropped = c.dropped
        rateLimited = c.rate_limited
        matched = c.matched
        counted = c.counted
        allowlisted = c.allowlisted
        unparsed = c.unparsed
        observedDrops = c.observed_drops
        sampled = c.sampled
        ringFull = c.ring_full
    }

    /// The counters of two CPUs, or two filters, as one.
    public static func += (a: inout DataplaneStats, b: DataplaneStats) {
        for k in counters { a[keyPath: k] &+= b[keyPath: k] }
    }

    /// Every counter, for code that treats them alike (sums, exports).
    /// (Computed: key paths are not Sendable, so not a stored static.)
    public static var counters: [WritableKeyPath<DataplaneStats, UInt64>] {
        [\.packets, \.bytes, \.passed, \.dropped, \.rateLimited, \.matched, \.counted, \.allowlisted,
         \.unparsed, \.observedDrops, \.sampled, \.ringFull]
    }
}

extension Dataplane {
    /// Per-CPU map values come back as one value per *possible* CPU.
    static let possibleCPUs = Int(max(1, libbpf_num_possible_cpus()))

    /// Reads a per-CPU value and returns the per-CPU copies.
    func perCPU<T>(_ fd: Int32, key: inout UInt32, as: T.Type) -> [T]? {
        let stride = (MemoryLayout<T>.size + 7) & ~7
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: stride * Self.possibleCPUs, alignment: 8)
        defer { buf.deallocate() }
        guard bpf_map_lookup_elem(fd, &key, buf.baseAddress) == 0 else { return nil }
        return (0..<Self.possibleCPUs).map { buf.load(fromByteOffset: $0 * stride, as: T.self) }
    }

    public func stats() throws(DataplaneError) -> DataplaneStats {
        var zero: UInt32 = 0
        guard let all = perCPU(fd(.stats), key: &zero, as: holon_stats.self) else {
            throw .system("reading stats", code: errno)
        }
        var s = DataplaneStats()
        for c in all { s += DataplaneStats(c) }
        return s
    }

    /// Zeroes the global counters (per-rule counters are reset by reinstalling).
    public func resetStats() throws(DataplaneError) {
        var zero: UInt32 = 0
        let buf = [UInt8](repeating: 0, count: ((MemoryLayout<holon_stats>.size + 7) & ~7) * Self.possibleCPUs)
        try DataplaneError.check(bpf_map_update_elem(fd(.stats), &zero, buf, UInt64(BPF_ANY)), "resetting stats")
    }

    /// Hits and drops of one rule (zero when it has not been hit): its slot's counters plus any
    /// it has by id (a rule counts by id while it has no slot).
    public func counters(forRule id: UInt32) -> RuleCounters {
        var c = RuleCounters()
        var k = id
        var slot: UInt32 = 0
        if bpf_map_lookup_elem(fd(.ruleSlots), &k, &slot) == 0 {
            for v in perCPU(fd(.slotCounters), key: &slot, as: holon_rule_counters.self) ?? [] { c.add(v) }
        }
        for v in perCPU(fd(.ruleCounters), key: &k, as: holon_rule_counters.self) ?? [] { c.add(v) }
        return c
    }

    /// Counters of every rule that has been hit, by id (the slots read in a few batches).
    public func allCounters() -> [UInt32: RuleCounters] {
        var out: [UInt32: RuleCounters] = [:]
        let slots = CounterSlots.entries(fd(.ruleSlots))
        if !slots.isEmpty {
            let bySlot = CounterSlots.counters(fd(.slotCounters))
            for (id, slot) in slots where Int(slot) < bySlot.count {
                let c = bySlot[Int(slot)]
                if c.hits > 0 || c.drops > 0 { out[id] = c }
            }
        }
        for id in allKeys(fd(.ruleCounters)) {
            var k = id
            guard let all = perCPU(fd(.ruleCounters), key: &k, as: holon_rule_counters.self) else { continue }
            var c = out[id] ?? RuleCounters()
            for v in all { c.add(v) }
            out[id] = c
        }
        return out
    }
}

extension RuleCounters {
    /// Adds one CPU's (or one map's) counts of a rule: the kernel keeps them per CPU, in a slot
    /// and by id, and a rule's counters are the sum of all.
    mutating func add(_ v: holon_rule_counters) {
        hits &+= v.hits
        drops &+= v.drops
    }
}
