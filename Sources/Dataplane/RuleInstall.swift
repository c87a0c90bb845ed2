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

/// The generation the last flip left behind, and how to bring it up to date: the same edit
/// (`diff`) or, when that generation's maps are unknown, a whole build of `table`.
struct CatchUp {
    var generation: UInt32
    var diff: TableDiff?
    var table: CompiledTable?
    var bootOffsetNs: Int64
}

extension Dataplane {
    /// Replaces the whole rule table atomically: the new table is written into the inactive
    /// generation's inner maps, then one config write flips the generation, so each packet sees
    /// the old table or the new one, never a mix. Buckets and counters of rules that keep their
    /// id and action carry over (refreshing a rule must not hand an attacker a fresh burst);
    /// the rest are removed.
    ///
    /// When this handle knows both generations' maps (it wrote them, and no one else has since),
    /// only the difference from the installed table is written, in place: a rule added to or
    /// removed from 100k costs a few map writes, not a rebuild. Otherwise, or with `rebuild`,
    /// the inactive generation gets fresh maps holding the whole table. After the flip the
    /// other generation is brought up to date in the background (``settle()``).
    @discardableResult
    public func install(_ rules: [Rule], rebuild: Bool = false) throws(DataplaneError) -> InstallReport {
        try apply(.table(rules), rebuild: rebuild)
    }

    /// A change as callers express it: a whole new table, or rules added to / deleted from the
    /// installed one (which then need not be listed, nor compared rule by rule).
    enum Change {
        case table([Rule])
        /// Rules out by id (those installed), then rules in: ids new, or among those out. An
        /// addition takes none out, a deletion puts none in.
        case exchanged(Set<UInt32>, [Rule])
    }

    func apply(_ change: Change, rebuild: Bool = false) throws(DataplaneError) -> InstallReport {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        let report = try locked { () throws(DataplaneError) -> InstallReport in
            var cfg = try config()
            forgetStaleImages(cfg)
            refreshCounterSlots(cfg)
            let active = cfg.gen & 1, inactive = active ^ 1
            if !rebuild, let base = images[Int(active)], let diff = Self.diff(change, installed: installedRules, base: base, now: now) {
                if diff.isEmpty {
                    return InstallReport(rules: base.placed.count, shapes: base.shapes.count, keys: base.keyCount,
                                         generation: active, nanoseconds: 0)
                }
                try validate(diff)
                try catchUp(&cfg)
                if let target = images[Int(inactive)], target.digest == base.digest, target.placed.count == base.placed.count,
                   let r = try installEdit(diff, into: target, cfg: &cfg) {
                    return r
                }
            }
            let rules: [Rule]
            switch change {
            case .table(let t): rules = t
            case .exchanged(let out, let a): rules = (out.isEmpty ? installedRules : installedRules.filter { !out.contains($0.id) }) + a
            }
            return try installWhole(Self.stampingInstallTime(rules, now: now), cfg: &cfg)
        }
        if lock.withLock({ pending != nil }) { DispatchQueue.global(qos: .utility).async { [self] in try? settle() } }
        var r = report
        r.nanoseconds = DispatchTime.now().uptimeNanoseconds - t0
        return r
    }

    /// What this handle knows of the active generation, when it knows it.
    func activeImage() throws(DataplaneError) -> TableImage? {
        let cfg = try config()
        return lock.withLock {
            guard let image = images[Int(cfg.gen & 1)] else { return nil }
            return image.stamp == (cfg.gen & 1 == 0 ? cfg.table.0.stamp : cfg.table.1.stamp) ? image : nil
        }
    }

    /// Rules that are new or changed must be valid, and the table must fit.
    private func validate(_ diff: TableDiff) throws(DataplaneError) {
        for r in diff.added {
            do { try r.validate() } catch { throw .compile(.invalidRule(id: r.id, error)) }
        }
        let n = installedRules.count - diff.removed.count + diff.added.count
        guard n <= Int(HOLON_MAX_RULES) else { throw .compile(.tooManyRules(n)) }
    }

    /// `change` as a diff from `installed` (the table `base` holds, rank order), rules without
    /// a start stamped with `now`; nil when the change repeats an id (the whole build reports it).
    static func diff(_ change: Change, installed: [Rule], base: TableImage, now: UInt64) -> TableDiff? {
        func stamped(_ r: Rule) -> Rule {
            guard r.ttlSeconds != nil, r.createdAt == nil else { return r }
            var s = r
            s.createdAt = now
            return s
        }
        switch change {
        case .exchanged(let out, let rules):
            var ids = Set<UInt32>()
            var d = TableDiff()
            for r in rules {
                guard ids.insert(r.id).inserted, base.placed[r.id] == nil || out.contains(r.id) else { return nil }
                let r = stamped(r)
                // A rule put back as it is stays, with its counters (as a whole table's diff keeps it).
                if let old = base.placed[r.id]?.rule, old == r { continue }
                if let old = base.placed[r.id]?.rule { d.removed.append(old) }
                d.added.append(r)
            }
            for id in out where !ids.contains(id) { if let old = base.placed[id]?.rule { d.removed.append(old) } }
            return d
        case .table(let rules):
            // Most tables handed over have nothing to stamp: no 100k-rule copy for them.
            let needsStamp = rules.contains { $0.ttlSeconds != nil && $0.createdAt == nil }
            return tableDiff(installed, needsStamp ? rules.map(stamped) : rules, base: base)
        }
    }

    /// The change from `installed` (rank order) to `rules`. Callers mostly pass the installed
    /// table with a few rules left out, changed or appended, so the two are walked side by side
    /// and only where they part is a rule looked up (by rank, a binary search): a 100k-rule
    /// table is compared in a pass over it, not 100k hash lookups.
    static func tableDiff(_ installed: [Rule], _ rules: [Rule], base: TableImage) -> TableDiff? {
        func position(_ r: Rule) -> Int? {
            let rank = RuleCompiler.rank(r)
            var lo = 0, hi = installed.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if RuleCompiler.rank(installed[mid]) < rank { lo = mid + 1 } else { hi = mid }
            }
            return lo < installed.count && installed[lo].id == r.id ? lo : nil
        }
        var visited = [Bool](repeating: false, count: installed.count)
        var d = TableDiff()
        var newIDs = Set<UInt32>()
        var j = 0
        for r in rules {
            let k = j < installed.count && installed[j].id == r.id ? j : position(r)
            if let k {
                guard !visited[k] else { return nil }
                visited[k] = true
                j = k + 1
                if installed[k] != r {
                    d.removed.append(installed[k])
                    d.added.append(r)
                }
            } else {
                guard newIDs.insert(r.id).inserted else { return nil }
                d.added.append(r)
            }
        }
        for k in visited.indices where !visited[k] { d.removed.append(installed[k]) }
        // A rule found by neither walk nor rank may still share its id with one found (same
        // id, another priority): two rules with one id.
        for id in newIDs {
            if let p = base.placed[id], let k = position(p.rule), visited[k] { return nil }
        }
        return d
    }

    /// The in-place path: `diff` written into `target` (the inactive generation, up to date and
    /// with no reader left), then the flip. nil when the maps have no room for it.
    private func installEdit(_ diff: TableDiff, into target: TableImage, cfg: inout holon_config) throws(DataplaneError) -> InstallReport? {
        let active = cfg.gen & 1, inactive = active ^ 1
        let previous = Dictionary(diff.removed.map { ($0.id, $0.action) }, uniquingKeysWith: { a, _ in a })
        try prepareBuckets(diff.added, previous: previous)
        let offset = BootClock.offsetNs()
        try markWriting(inactive, &cfg)
        try waitForReaders(generation: inactive)   // done by catchUp unless nothing was pending
        counterSlots.beginTable()
        do {
            try edit(target, diff, bootOffsetNs: offset) { counterSlot(for: $0) }
        } catch {
            counterSlots.abandon()
            switch error {
            case .compile(let e): throw .compile(e)
            case .rebuild: return nil
            case .system(let e):
                images[Int(inactive)] = nil
                throw e
            }
        }
        try commitCounterSlots()
        // Merged in place: installedRules' buffer is then the only one (no 100k-rule copy).
        var ordered = installedRules
        installedRules = []
        Self.merge(&ordered, diff)
        do {
            try flip(to: target, generation: inactive, ordered: ordered, diff: diff, cfg: &cfg)
        } catch {
            Self.merge(&ordered, TableDiff(removed: diff.added, added: diff.removed))
            installedRules = ordered
            throw error
        }
        try dropStaleState(changed: diff)
        pending = CatchUp(generation: active, diff: diff, table: nil, bootOffsetNs: offset)
        return InstallReport(rules: ordered.count, shapes: target.shapes.count, keys: target.keyCount,
                             generation: inactive, nanoseconds: 0)
    }

    /// The whole-table path: fresh inner maps for the inactive generation, swapped in, then
    /// the flip. Readers of the maps being replaced keep them until they finish (the kernel
    /// frees an inner map only after an RCU grace period), so no wait is needed before.
    private func installWhole(_ rules: [Rule], cfg: inout holon_config) throws(DataplaneError) -> InstallReport {
        let offset = BootClock.offsetNs()
        var table: CompiledTable
        do { table = try RuleCompiler.compile(rules, bootOffsetNs: offset) } catch { throw .compile(error) }
        counterSlots.beginTable()
        counterSlots.assign(&table.rules)
        try commitCounterSlots()
        let active = cfg.gen & 1, inactive = active ^ 1
        let previous = Dictionary(installedRules.map { ($0.id, $0.action) }, uniquingKeysWith: { a, _ in a })
        try prepareBuckets(table.ordered, previous: previous)
        if pending?.generation == inactive { pending = nil }   // rebuilt whole instead
        images[Int(inactive)] = nil
        try markWriting(inactive, &cfg)
        let image = try buildMaps(table, digest: RuleState.digest(table.ordered))
        try waitForReaders(generation: inactive)
        try swapIn(image, generation: inactive)
        try flip(to: image, generation: inactive, ordered: table.ordered, cfg: &cfg)
        images[Int(inactive)] = image
        try dropStaleState(table.ordered, previous: previous)
        images[Int(active)] = nil
        pending = CatchUp(generation: active, diff: nil, table: table, bootOffsetNs: offset)
        return InstallReport(rules: table.rules.count, shapes: table.shapes.count, keys: table.keys.count,
                             generation: inactive, nanoseconds: 0)
    }

    /// Zeroes the stamp of generation `g` before its maps are written: a crash from here on
    /// leaves a generation no loader believes it knows, so the next one rebuilds it.
    private func markWriting(_ g: UInt32, _ cfg: inout holon_config) throws(DataplaneError) {
        if g == 0 { cfg.table.0.stamp = 0 } else { cfg.table.1.stamp = 0 }
        try writeConfig(cfg)
    }

    /// Records `image` as generation `g`'s complete table (a new stamp), without flipping.
    private func recordWritten(_ image: TableImage, generation g: UInt32, rules: Int, cfg: inout holon_config) throws(DataplaneError) {
        image.stamp = UInt64.random(in: 1...UInt64.max)
        let info = holon_table_info(nshapes: UInt32(image.shapes.count), nrules: UInt32(rules), digest: image.digest, stamp: image.stamp)
        if g == 0 { cfg.table.0 = info } else { cfg.table.1 = info }
        try writeConfig(cfg)        // the inactive generation's size, not yet read by anyone
    }

    /// The table in generation `g` goes live: its info, the state file's new text, the flip.
    /// `diff`: the change from the active table, when it is one (an edit in place), which the
    /// state file's journal then takes instead of the whole table's text (``RuleJournal``).
    private func flip(to image: TableImage, generation g: UInt32, ordered: [Rule], diff: TableDiff? = nil, cfg: inout holon_config) throws(DataplaneError) {
        let live = cfg.gen & 1 == 0 ? cfg.table.0 : cfg.table.1
        let before = TableFingerprint(generation: cfg.gen, rules: Int(live.nrules), digest: live.digest)
        try recordWritten(image, generation: g, rules: ordered.count, cfg: &cfg)
        // The new table's text is on disk before the filter enforces it; renamed into place
        // after. A crash in between leaves both, and the reader takes the one that matches.
        // A change's lines appended to the journal are read the same way.
        let fp = TableFingerprint(generation: g, rules: ordered.count, digest: image.digest)
        var journaled = false
        if let options {
            if let diff { journaled = try RuleJournal.append(diff, options, from: before, to: fp) }
            if !journaled { try RuleState.prepare(ordered, options, fingerprint: fp) }
        }
        cfg.gen = g
        // The flip: one byte changes. The maps' elements were written by earlier syscalls; a
        // packet that reads the new `gen` reaches them through loads that depend on it.
        try writeConfig(cfg)
        readersMayRemain = true     // the generation just left may still be read
        installedRules = ordered
        knownFingerprint = fp
        storedStateProblem = nil
        if let options, !journaled { try RuleState.commit(options) }
    }

    /// Puts `image`'s maps in generation `g`'s slots of the outer maps.
    private func swapIn(_ image: TableImage, generation g: UInt32) throws(DataplaneError) {
        // Each outer-map update waits for an RCU grace period in the kernel; the updates
        // issued together share one instead of waiting for each in a row.
        let outers = TableImage.outers
        let outerFDs = outers.map { fd($0) }
        let innerFDs = image.fds
        let errors = Mutex([Int32](repeating: 0, count: outers.count))
        DispatchQueue.concurrentPerform(iterations: outers.count) { i in
            var k = g
            var v = innerFDs[i]
            let rc = bpf_map_update_elem(outerFDs[i], &k, &v, UInt64(BPF_ANY))
            // errno belongs to this thread: read it here.
            if rc < 0 { errors.withLock { $0[i] = rc == -1 ? errno : -rc } }
        }
        for (i, e) in errors.withLock({ $0 }).enumerated() where e != 0 {
            throw .system("swapping in \(outers[i])", code: e)
        }
    }

    /// Forgets what this handle knew of a generation whose maps were written since by someone
    /// else (its stamp changed), and then the catch-up planned from that knowledge.
    private func forgetStaleImages(_ cfg: holon_config) {
        for g in 0..<2 {
            guard let image = images[Int(g)] else { continue }
            let stamp = g == 0 ? cfg.table.0.stamp : cfg.table.1.stamp
            if image.stamp == 0 || image.stamp != stamp {
                images[Int(g)] = nil
                pending = nil
            }
        }
    }

    /// Waits, when needed, until no XDP program still reads generation `g`'s maps (`g` being
    /// the inactive one). Called before anything is written into the inactive generation.
    ///
    /// A program reads `config.gen` once per packet and then looks the inner maps up by it, so
    /// after a flip, packets that started before it may still be walking the old generation.
    /// Writing into those maps in place (``edit(_:_:bootOffsetNs:)``) while they do would show
    /// them a chain half relinked; swapping fresh maps in would not be safe either, as the
    /// inner maps are looked up one after the other and a reader could take the old
    /// shapes with the new keys. XDP programs run inside RCU read-side sections, and an update
    /// of a map-in-map element returns only after an RCU grace period (the kernel's promise
    /// that, on return, no program still uses the old value): storing the inner map that is
    /// already there changes nothing and buys exactly that wait. Once it has passed, the
    /// generation has no reader until the next flip makes it active again.
    func waitForReaders(generation g: UInt32) throws(DataplaneError) {
        guard readersMayRemain else { return }
        if let inner = try Self.innerMap(fd(.shapesOut), g, "generation \(g)'s shapes map") {
            defer { close(inner) }
            var k = g
            var v = inner
            try DataplaneError.check(bpf_map_update_elem(fd(.shapesOut), &k, &v, UInt64(BPF_ANY)), "waiting for readers of generation \(g)")
        }
        // No inner map there: no program can have read one.
        readersMayRemain = false
    }

    /// The inner map in slot `g` of the outer map `outer`, opened (the caller closes it); nil
    /// when the slot is empty.
    static func innerMap(_ outer: Int32, _ g: UInt32, _ what: String) throws(DataplaneError) -> Int32? {
        var k = g
        var id: UInt32 = 0
        guard bpf_map_lookup_elem(outer, &k, &id) == 0 else { return nil }
        let fd = bpf_map_get_fd_by_id(id)
        try DataplaneError.check(fd, "reopening \(what)")
        return fd
    }

    /// Brings the generation the last flip left behind up to date, so the next change can be
    /// written into it. Waits for a grace period first (``waitForReaders(generation:)``).
    func catchUp(_ cfg: inout holon_config) throws(DataplaneError) {
        guard let p = pending else { return }
        pending = nil
        let g = p.generation
        guard cfg.gen & 1 != g else { return }
        if let diff = p.diff, let image = images[Int(g)] {
            try waitForReaders(generation: g)
            try markWriting(g, &cfg)
            do throws(EditProblem) {
                try edit(image, diff, bootOffsetNs: p.bootOffsetNs) { counterSlot(for: $0) }
            } catch {
                images[Int(g)] = nil
                if case .system(let e) = error { throw e }
            }
            if images[Int(g)] != nil {
                try commitCounterSlots()   // nothing new: the rules got their slots when they came
                try recordWritten(image, generation: g, rules: image.placed.count, cfg: &cfg)
                return
            }
        }
        var table: CompiledTable
        if let t = p.table {
            table = t
        } else {
            do { table = try RuleCompiler.compile(installedRules, bootOffsetNs: p.bootOffsetNs) } catch { throw .compile(error) }
            counterSlots.assign(&table.rules)   // the slots the rules hold: none is handed out here
        }
        images[Int(g)] = nil
        try markWriting(g, &cfg)
        let image = try buildMaps(table, digest: RuleState.digest(table.ordered))
        try waitForReaders(generation: g)
        try commitCounterSlots()
        try swapIn(image, generation: g)
        try recordWritten(image, generation: g, rules: table.ordered.count, cfg: &cfg)
        images[Int(g)] = image
    }

    /// Finishes bringing the inactive generation up to date (done in the background after
    /// each install; the next install does it first otherwise). Tests and benchmarks call it
    /// to time a change on its own.
    public func settle() throws(DataplaneError) {
        func run() throws(DataplaneError) {
            try locked { () throws(DataplaneError) in
                guard pending != nil else { return }
                var cfg = try config()
                forgetStaleImages(cfg)
                refreshCounterSlots(cfg)
                try catchUp(&cfg)
            }
        }
        guard lock.withLock({ pending != nil }) else { return }
        if let options { try RuleState.lockedIfPresent(options) { () throws(DataplaneError) in try run() } } else { try run() }
    }

    /// `diff` applied to `out` (rank order).
    static func merge(_ out: inout [Rule], _ diff: TableDiff) {
        func position(_ rank: UInt64) -> Int {
            var lo = 0, hi = out.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if RuleCompiler.rank(out[mid]) < rank { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        for r in diff.removed {
            let i = position(RuleCompiler.rank(r))
            if i < out.count, out[i].id == r.id { out.remove(at: i) }
        }
        for r in diff.added { out.insert(r, at: position(RuleCompiler.rank(r))) }
    }

    /// Changes the table in one step, also across processes: under the state file's lock the
    /// table is re-read from the state file (another process may have changed it since this one
    /// last looked), `change` makes the new table from it, and that is installed.
    @discardableResult
    public func update(_ change: ([Rule]) throws(DataplaneError) -> [Rule]) throws(DataplaneError) -> InstallReport {
        try modify { (current) throws(DataplaneError) -> Change in .table(try change(current)) }
    }

    /// ``update(_:)`` for any ``Change``.
    func modify(rebuild: Bool = false, _ make: ([Rule]) throws(DataplaneError) -> Change) throws(DataplaneError) -> InstallReport {
        guard let options else { return try apply(make(rules), rebuild: rebuild) }
        return try changingPinned(options) { () throws(DataplaneError) -> InstallReport in
            try apply(make(try tableUnderLock(options)), rebuild: rebuild)
        }
    }

    /// The table as the state file has it, for a change under its lock: what this handle read
    /// while the filter still shows that table's fingerprint (another process's change moves
    /// it), else read again. Reading a million rules twice, at open and under the lock, was a
    /// second of every `holon rules load --replace-all`.
    func tableUnderLock(_ options: DataplaneOptions) throws(DataplaneError) -> [Rule] {
        let fp = try fingerprint()
        if let known = lock.withLock({ knownFingerprint.map { ($0, installedRules) } }), known.0 == fp { return known.1 }
        let current = try RuleState.read(options, expected: fp)
        lock.withLock {
            installedRules = current
            knownFingerprint = fp
        }
        return current
    }

    /// Readies this handle to change the table in place: afterwards it knows both generations'
    /// maps, so its next change is a few map writes (``install(_:rebuild:)``), not a whole new
    /// table. A process that opened a filter it did not write knows neither, and its first
    /// change rebuilt the table: `holon run`'s first incident on a filter holding 100k rules
    /// waited 0.57 s for its rule, the attack flowing meanwhile. The table is rewritten as it
    /// is (read under the lock, as ``update(_:)`` reads it), then the other generation caught
    /// up; packets meet the same rules throughout. Cheap when this handle already knows both.
    /// A state file that does not describe the filter's table is refused, as by every change.
    public func prime() throws(DataplaneError) {
        // Whole even where this handle knows one generation: an edit needs both.
        if !readyForChanges { try modify(rebuild: true) { .table($0) } }
        try settle()
    }

    /// Whether this handle's next change can go in place: it knows the active generation's
    /// maps, and the other's or the catch-up that will bring them up to date.
    var readyForChanges: Bool {
        guard let cfg = try? config() else { return true }   // no filter to ready
        return lock.withLock {
            let active = Int(cfg.gen & 1), stamps = [cfg.table.0.stamp, cfg.table.1.stamp]
            func known(_ g: Int) -> Bool { images[g].map { $0.stamp != 0 && $0.stamp == stamps[g] } ?? false }
            return known(active) && (known(active ^ 1) || pending?.generation == UInt32(active ^ 1))
        }
    }

    /// ``prime()`` in the background, when another process's change (`holon rules add` beside
    /// `holon run`) left this handle knowing neither generation: the loop's next incident would
    /// otherwise wait for a rebuild of the whole table. One at a time; a failure is left for
    /// the next change to meet and report.
    public func keepReady() {
        guard options != nil, stateProblem == nil, !readyForChanges else { return }
        guard lock.withLock({ () -> Bool in
            if priming { return false }
            priming = true
            return true
        }) else { return }
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { lock.withLock { priming = false } }
            try? prime()
        }
    }

    /// Installs `rules` as the whole table whatever the state file says (the way back when it
    /// does not match the filter): rebuilt whole and the state file written anew, even when
    /// this handle believes the filter already holds `rules`.
    @discardableResult
    public func replace(with rules: [Rule]) throws(DataplaneError) -> InstallReport {
        try replace(with: rules) { _ in }
    }

    /// ``replace(with:)``, handing `previous` the table it replaces as the state file described
    /// it under the lock (nil when it did not describe the filter's table): what another process
    /// installed while this one waited is in it.
    @discardableResult
    public func replace(with rules: [Rule], previous: ([Rule]?) -> Void) throws(DataplaneError) -> InstallReport {
        guard let options else {
            previous(self.rules)
            return try install(rules, rebuild: true)
        }
        return try changingPinned(options) { () throws(DataplaneError) -> InstallReport in
            previous(try? tableUnderLock(options))
            return try install(rules, rebuild: true)
        }
    }

    /// `body` under the state file's lock, for a change to the pinned filter this handle opened.
    /// Refused when that filter is no longer the pinned one (detached, or attached anew, while the
    /// change waited for the lock); an error too when it stopped being so while `body` wrote:
    /// either way nothing enforces the change, and saying it does would be a lie.
    func changingPinned<T>(_ options: DataplaneOptions, _ body: () throws(DataplaneError) -> T) throws(DataplaneError) -> T {
        try RuleState.locked(options) { () throws(DataplaneError) -> T in
            guard holdsPinnedMaps() else { throw .detachedMeanwhile(options.pinDirectory, written: false) }
            let result = try body()
            guard holdsPinnedMaps() else { throw .detachedMeanwhile(options.pinDirectory, written: true) }
            return result
        }
    }

    /// Takes the rules of `ids` out (those installed) and puts `rules` in (ids new, or among
    /// `ids`: a rule replaced under its id), as one change: what `update` does with the table
    /// less `ids` plus `rules`, without handing the whole table over (compared in a pass, that
    /// was 110 ms beside a million-rule blocklist for the live loop's one rule, not 0.1).
    @discardableResult
    public func change(removing ids: Set<UInt32>, adding rules: [Rule]) throws(DataplaneError) -> InstallReport {
        try modify { _ in .exchanged(ids, rules) }
    }

    /// Adds rules to the installed table (ids must be new) and reinstalls it.
    @discardableResult
    public func add(_ rules: [Rule]) throws(DataplaneError) -> InstallReport {
        try change(removing: [], adding: rules)
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
        _ = try modify { current in
            if let placed = try? activeImage()?.placed {
                missing = ids.filter { placed[$0] == nil }
            } else {
                missing = ids.subtracting(current.lazy.filter { ids.contains($0.id) }.map(\.id))
            }
            return .exchanged(ids, [])
        }
        return missing
    }

    /// A new inner map for `outer`, with the layout its template declares (and its size, for
    /// a template that fixes it: `entries` then does not count).
    func createInner(_ outer: XDPMap, entries: Int) throws(DataplaneError) -> Int32 {
        let m = outer.inner!
        let entries = m.entries ?? entries
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
        try keys.withUnsafeBufferPointer { (k) throws(DataplaneError) in
            try values.withUnsafeBufferPointer { (v) throws(DataplaneError) in try updateBatch(fd, keys: k, values: v, what) }
        }
    }

    func updateBatch<K, V>(_ fd: Int32, keys: UnsafeBufferPointer<K>, values: UnsafeBufferPointer<V>, _ what: String) throws(DataplaneError) {
        let chunk = 1 << 16
        var start = 0
        while start < keys.count {
            let n = min(chunk, keys.count - start)
            var count = UInt32(n)
            let r = bpf_map_update_batch(fd, keys.baseAddress! + start, values.baseAddress! + start, &count, nil)
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
        // Slots: the ids the table's compile did not ask for left; a changed action starts
        // from zero (both found by the compile, with no lookup per rule here).
        for id in counterSlots.notAsked() { counterSlots.release(id, slots: fd(.ruleSlots)) }
        for c in counterSlots.changed { CounterSlots.zero(fd(.slotCounters), slot: UInt32(c.slot)) }
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

    /// After an edit's flip: forget buckets and counters of the rules it removed or changed,
    /// unless the rule stays with the same action (the rest of the table is untouched).
    func dropStaleState(changed diff: TableDiff) throws(DataplaneError) {
        let now = Dictionary(diff.added.map { ($0.id, $0.action) }, uniquingKeysWith: { a, _ in a })
        for r in diff.removed {
            var k = r.id
            let after = now[r.id]
            if after != r.action { _ = bpf_map_delete_elem(fd(.ruleCounters), &k) }
            if after == nil {
                counterSlots.release(r.id, slots: fd(.ruleSlots))
            } else if after != r.action, let slot = counterSlots.slot(of: r.id) {
                CounterSlots.zero(fd(.slotCounters), slot: UInt32(slot))
            }
            if case .rateLimit = after {} else { _ = bpf_map_delete_elem(fd(.buckets), &k) }
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
