import CHolonXDP
import CLibBPF
import Foundation
import Synchronization
import Rules

/// What an install did.
public struct InstallReport: Sendable, Hashable, Codable {
    public var rules: Int
    public var shapes: Int
    public var keys: Int
    /// The generation (0/1) now active.
    public var generation: UInt32
    public var nanoseconds: UInt64
}

extension Dataplane {
    /// Replaces the whole rule table atomically: the new table is built in fresh inner maps of
    /// the inactive generation, then one config write flips the generation, so each packet sees
    /// the old table or the new one, never a mix. Buckets and counters of rules that keep their
    /// id and action carry over (refreshing a rule must not hand an attacker a fresh burst);
    /// the rest are removed.
    @discardableResult
    public func install(_ rules: [Rule]) throws(DataplaneError) -> InstallReport {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let rules = Self.stampingInstallTime(rules, now: UInt64(Date().timeIntervalSince1970 * 1e9))
        let table: CompiledTable
        do { table = try RuleCompiler.compile(rules) } catch { throw .compile(error) }
        return try locked { () throws(DataplaneError) -> InstallReport in
            var cfg = try config()
            let inactive: UInt32 = (cfg.gen & 1) ^ 1
            let previous = Dictionary(installedRules.map { ($0.id, $0.action) }, uniquingKeysWith: { a, _ in a })
            try prepareBuckets(table.ordered, previous: previous)

            let shapesFD = try createInner(.shapesOut, entries: Int(HOLON_MAX_SHAPES))
            defer { close(shapesFD) }
            let keysFD = try createInner(.keysOut, entries: max(1, table.keys.count))
            defer { close(keysFD) }
            let rulesFD = try createInner(.rulesOut, entries: max(1, table.rules.count))
            defer { close(rulesFD) }
            let checksFD = try createInner(.checksOut, entries: max(1, table.checks.count))
            defer { close(checksFD) }
            try updateArray(shapesFD, table.shapes, "shapes")
            try updateArray(rulesFD, table.rules, "rules")
            try updateArray(checksFD, table.checks, "checks")
            try updateBatch(keysFD, keys: table.keys, values: table.firstSlots, "keys")

            // Each outer-map update waits for an RCU grace period in the kernel; four updates
            // issued together share one instead of waiting for four in a row.
            let swaps: [(XDPMap, Int32)] = [(.shapesOut, shapesFD), (.keysOut, keysFD), (.rulesOut, rulesFD), (.checksOut, checksFD)]
            let outerFDs = swaps.map { fd($0.0) }
            let errors = Mutex([Int32](repeating: 0, count: swaps.count))
            DispatchQueue.concurrentPerform(iterations: swaps.count) { i in
                var k = inactive
                var v = swaps[i].1
                let rc = bpf_map_update_elem(outerFDs[i], &k, &v, UInt64(BPF_ANY))
                // errno belongs to this thread: read it here.
                if rc < 0 { errors.withLock { $0[i] = rc == -1 ? errno : -rc } }
            }
            for (i, e) in errors.withLock({ $0 }).enumerated() where e != 0 {
                throw .system("swapping in \(swaps[i].0)", code: e)
            }
            let digest = RuleState.digest(table.ordered)
            let info = holon_table_info(nshapes: UInt32(table.shapes.count), nrules: UInt32(table.rules.count), digest: digest)
            if inactive == 0 { cfg.table.0 = info } else { cfg.table.1 = info }
            try writeConfig(cfg)        // the inactive generation's size, not yet read by anyone
            // The new table's text is on disk before the filter enforces it; renamed into place
            // after. A crash in between leaves both, and the reader takes the one that matches.
            let fp = TableFingerprint(generation: inactive, rules: table.rules.count, digest: digest)
            if let options { try RuleState.prepare(table.ordered, options, fingerprint: fp) }
            cfg.gen = inactive
            try writeConfig(cfg)        // the flip: one byte changes
            installedRules = table.ordered
            knownFingerprint = fp
            storedStateProblem = nil
            if let options { try RuleState.commit(options) }

            try dropStaleState(table.ordered, previous: previous)
            return InstallReport(rules: table.rules.count, shapes: table.shapes.count, keys: table.keys.count,
                                 generation: inactive, nanoseconds: DispatchTime.now().uptimeNanoseconds - t0)
        }
    }

    /// Changes the table in one step, also across processes: under the state file's lock the
    /// table is re-read from the state file (another process may have changed it since this one
    /// last looked), `change` makes the new table from it, and that is installed.
    @discardableResult
    public func update(_ change: ([Rule]) throws(DataplaneError) -> [Rule]) throws(DataplaneError) -> InstallReport {
        guard let options else { return try install(change(rules)) }
        return try RuleState.locked(options) { () throws(DataplaneError) -> InstallReport in
            let fp = try fingerprint()
            let current: [Rule]
            if let known = lock.withLock({ knownFingerprint.map { ($0, installedRules) } }), known.0 == fp {
                current = known.1
            } else {
                current = try RuleState.read(options, expected: fp)
                lock.withLock {
                    installedRules = current
                    knownFingerprint = fp
                }
            }
            return try install(change(current))
        }
    }

    /// Installs `rules` as the whole table whatever the state file says (the way back when it
    /// does not match the filter: ``stateProblem``).
    @discardableResult
    public func replace(with rules: [Rule]) throws(DataplaneError) -> InstallReport {
        guard let options else { return try install(rules) }
        return try RuleState.locked(options) { () throws(DataplaneError) -> InstallReport in try install(rules) }
    }

    /// Adds rules to the installed table (ids must be new) and reinstalls it.
    @discardableResult
    public func add(_ rules: [Rule]) throws(DataplaneError) -> InstallReport {
        try update { $0 + rules }
    }

    /// A TTL with no start runs from installation: stamped at install, so the kernel (which stops
    /// matching a rule at its expiry) and the state file agree on when it ends.
    static func stampingInstallTime(_ rules: [Rule], now: UInt64) -> [Rule] {
        rules.map { r in
            guard r.ttlSeconds != nil, r.createdAt == nil else { return r }
            var s = r
            s.createdAt = now
            return s
        }
    }

    /// Removes rules by id and reinstalls. Returns the ids that were not installed.
    public func delete(ids: Set<UInt32>) throws(DataplaneError) -> Set<UInt32> {
        var missing = Set<UInt32>()
        try update { current in
            missing = ids.subtracting(current.map(\.id))
            return current.filter { !ids.contains($0.id) }
        }
        return missing
    }

    /// A new inner map for `outer`, with the layout its template declares.
    func createInner(_ outer: XDPMap, entries: Int) throws(DataplaneError) -> Int32 {
        let m = outer.inner!
        var o = bpf_map_create_opts()
        o.sz = MemoryLayout<bpf_map_create_opts>.size
        o.map_flags = m.flags
        let fd = bpf_map_create(m.type, m.name, UInt32(m.keySize), UInt32(m.valueSize), UInt32(entries), &o)
        try DataplaneError.check(fd, "creating map \(m.name) (\(entries) entries)")
        return fd
    }

    func updateArray<T>(_ fd: Int32, _ values: [T], _ what: String) throws(DataplaneError) {
        guard !values.isEmpty else { return }
        let keys = (0..<UInt32(values.count)).map { $0 }
        try updateBatch(fd, keys: keys, values: values, what)
    }

    /// One batch syscall per chunk instead of one per element (what keeps 100k rules well under
    /// a second).
    func updateBatch<K, V>(_ fd: Int32, keys: [K], values: [V], _ what: String) throws(DataplaneError) {
        let chunk = 1 << 16
        var start = 0
        while start < keys.count {
            let n = min(chunk, keys.count - start)
            var count = UInt32(n)
            let r = keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    bpf_map_update_batch(fd, k.baseAddress! + start, v.baseAddress! + start, &count, nil)
                }
            }
            try DataplaneError.check(r, "writing \(what)")
            start += n
        }
    }

    /// Makes sure every rate-limit rule has its bucket before the table that uses it goes live;
    /// a rule keeping its id and exact action keeps its bucket.
    func prepareBuckets(_ rules: [Rule], previous: [UInt32: Action]) throws(DataplaneError) {
        for r in rules {
            guard case .rateLimit(let pps, _) = r.action, let burst = r.action.effectiveBurst else { continue }
            var id = r.id
            var existing = holon_bucket()
            if previous[r.id] == r.action, bpf_map_lookup_elem(fd(.buckets), &id, &existing) == 0 { continue }
            var b = holon_bucket()
            b.pps = pps
            b.capacity = min(burst, TokenBucket.maxBurst) * TokenBucket.nanotokensPerToken
            b.tokens = b.capacity
            try DataplaneError.check(bpf_map_update_elem(fd(.buckets), &id, &b, UInt64(BPF_ANY)), "writing bucket \(r.id)")
        }
    }

    /// After the flip: forget buckets and counters of rules that left or changed action.
    func dropStaleState(_ rules: [Rule], previous: [UInt32: Action]) throws(DataplaneError) {
        var now: [UInt32: Action] = [:]
        now.reserveCapacity(rules.count)
        for r in rules { now[r.id] = r.action }
        for map in [XDPMap.ruleCounters, .buckets] {
            for id in allKeys(fd(map)) {
                let keep: Bool
                if let a = now[id] {
                    if map == .buckets {
                        // prepareBuckets already wrote a fresh bucket where the action changed.
                        if case .rateLimit = a { keep = true } else { keep = false }
                    } else {
                        keep = previous[id].map { $0 == a } ?? true
                    }
                } else {
                    keep = false
                }
                if !keep {
                    var k = id
                    _ = bpf_map_delete_elem(fd(map), &k)
                }
            }
        }
    }

    /// Every UInt32 key of a hash map.
    func allKeys(_ fd: Int32) -> [UInt32] {
        var out: [UInt32] = []
        var key: UInt32 = 0
        var next: UInt32 = 0
        var r = bpf_map_get_next_key(fd, nil, &next)
        while r == 0 {
            out.append(next)
            key = next
            r = bpf_map_get_next_key(fd, &key, &next)
        }
        return out
    }
}
