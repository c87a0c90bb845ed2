import Dataplane
import Detection
import Foundation
import Packets
import Rules

/// The live loop: the filter's samples → the detector → rules into the filter's maps, and out
/// again when the attack is gone.
///
/// Ownership: rules with ids from ``SidecarConfig/ruleIDBase`` up are the sidecar's; it adds and
/// removes only those, so operators' rules (`holon rules add`) are never touched. Every change
/// is a whole-table swap in the filter and lands in its state file, so rules outlive this
/// process; a new run adopts the ones it finds and lets them expire at their TTL.
///
/// What the detector sees: during warmup only traffic the filter let through (the baseline must
/// not learn an attack that earlier rules are dropping); afterwards also the samples of packets
/// the sidecar's own rules dropped, which keep their incident open. Traffic dropped by an
/// operator's rule or allowlisted is the operator's business and stays out.
public final class Sidecar {
    /// The filter it drives (``Dataplane``, or ``ReferenceFilter`` in tests); replaced when the
    /// filter is detached and attached anew under it.
    public internal(set) var dataplane: any LoopFilter
    public let config: SidecarConfig
    public internal(set) var detector: Detector
    public internal(set) var stats = SidecarStats()

    struct Owned {
        var rule: Rule
        /// Its open incident; nil once that closed (held until `expiresAt`) or when adopted.
        var incident: Int?
        var expiresAt: UInt64?
        /// Found in the filter at start (an earlier run's).
        var adopted = false
        /// When it went in (sample clock), for its drop rate.
        var installedAt: UInt64 = 0
    }
    /// Open incidents whose rules the budget refused, retried when a slot frees.
    var waiting: [Int: [DetectedRule]] = [:]
    /// The ids given to the rules that wait, by the detector's id of each: a retry installs the
    /// rules the refusal named, under the same ids.
    var idsOf: [UInt32: [UInt32]] = [:]
    var owned: [UInt32: Owned] = [:]
    /// Rules an operator pinned (the sidecar's range, no TTL): no longer the loop's to expire
    /// or replace, but what follows its rules (a Flowspec route) keeps them while they are in
    /// the table, so their deletion is said too.
    var pinned: Set<UInt32> = []
    /// The filter's counters at the last heartbeat, for rates.
    var lastBeat: (at: UInt64, packets: UInt64, dropped: UInt64)?
    /// Samples the ring had no room for (``SampleLoss``).
    var sampleLoss = SampleLoss()
    /// Whether any sample goes to the protected prefixes (``ProtectedCoverage``).
    var coverage = ProtectedCoverage()
    /// Where its rules' ids come from (``SidecarConfig/ruleIDs``, or its own).
    let ids: RuleIDs
    /// When this run started (sample clock): older samples are stale.
    var startedAt: UInt64 = 0
    /// Since when the filter has been gone (detached under the sidecar).
    var lostSince: UInt64?
    /// The filter went with its interface (``LoopFilter/linkLost()``), not by a detach.
    var interfaceGone = false
    /// When the loop last said its interface is still gone.
    var remindedAt: UInt64 = 0
    /// Whether this run has seen its filter attached (a daemon starts one whose interface is
    /// not there yet unattached).
    var attachedOnce = true
    /// A change was refused because the filter was detached: looked for again at once.
    var filterLost = false
    /// While the rule state cannot be written: since when, and when a change is tried again.
    var stateBlocked: (since: UInt64, retryAt: UInt64)?
    /// The table as the sidecar last left it: a different one means another process changed it.
    var tableSeen: TableFingerprint?
    /// Why the filter's program was last found not this process's (nil: it is).
    var programSeen: String?
    /// The filter's mode as last read (true: it observes); nil before the run reads it.
    var observeSeen: Bool?
    /// The baseline save in progress, if any.
    let saving = SaveFlight()

    public init(dataplane: any LoopFilter, config: SidecarConfig = SidecarConfig()) {
        self.dataplane = dataplane
        self.config = config
        ids = config.ruleIDs ?? RuleIDs(base: config.ruleIDBase)
        detector = Detector(config: config.effectiveDetector)
    }

    /// Rules of this sidecar now in the filter.
    public var ownedRules: [Rule] { owned.values.map(\.rule).sorted { $0.id < $1.id } }

    /// Runs until `shouldStop` says so (checked every ~50 ms).
    ///
    /// Holds the filter (``FilterLease``) while it runs: `holon filter detach` refuses, and a
    /// second sidecar on the same filter is refused. Starts from what happens now: samples
    /// already waiting in the ring, or stamped before the start, are not learned (a restart
    /// would otherwise learn "normal" from traffic long gone and judge the present by it).
    public func run(until shouldStop: () -> Bool, onEvent: (SidecarEvent) -> Void) throws(DataplaneError) {
        let lease: FilterLease? = try dataplane.options.map { o throws(DataplaneError) in try FilterLease.acquire(o) }
        defer { withExtendedLifetime(lease) {} }
        if let problem = dataplane.stateProblem { throw problem }
        try dataplane.setSampleEvery(config.sampleEvery)
        var reader = try dataplane.openSamples()
        startedAt = dataplane.now()
        observeSeen = dataplane.observes()
        attachedOnce = dataplane.stillAttached()
        stats.stale += try reader.drain().count
        checkBaselineWritable(onEvent)
        restoreBaseline(onEvent)
        defer { saveBaseline(onEvent, wait: true) }
        let saveEvery = UInt64(config.baselineSaveEvery.components.seconds) * 1_000_000_000
        var nextSave = dataplane.now() &+ saveEvery
        func saveIfDue(_ now: UInt64) {
            guard now >= nextSave else { return }
            nextSave = now &+ saveEvery
            saveBaseline(onEvent, wait: false)
        }
        if !config.dryRun {
            adopt(now: dataplane.now(), onEvent)
            // While the detector learns: the first incident's rules then go in place, in
            // milliseconds, not behind a rebuild of the operator's whole table (0.57 s at 100k).
            dataplane.keepReady()
        }
        var nextBeat = dataplane.now() + 1_000_000_000
        func beatIfDue(_ now: UInt64, attached: Bool) {
            guard now >= nextBeat else { return }
            nextBeat = now + 1_000_000_000
            beat(now: now, attached: attached, onEvent)
        }
        while !shouldStop() {
            let batch = try reader.poll(timeoutMilliseconds: 50)
            if let tap = config.tap {
                let wanted = tap.wanted
                reader.keepBytes(wanted)
                if wanted { tap.offer(batch) }
            }
            for s in batch { ingest(s) }
            let now = dataplane.now()
            // While a lost filter is waited for, looked for at every turn: it is attached again
            // the moment its interface is back.
            let lookForFilter = now >= nextBeat || filterLost || lostSince != nil
            filterLost = false
            if lookForFilter, !dataplane.stillAttached() {
                guard try reattach(now: now, onEvent) else {
                    // Nothing enforced and nothing to learn from, but the loop is alive and says
                    // so: silent for the whole outage, a monitor took it for dead, and the
                    // dashboard's history (paced by the first loop's beat) stopped for every
                    // interface. What it learned before is saved on time.
                    beatIfDue(now, attached: false)
                    saveIfDue(now)
                    continue
                }
                reader = try dataplane.openSamples()
            }
            if now >= nextBeat && !config.dryRun {
                try noticeOperatorChanges(now: now, onEvent)
                dataplane.keepReady()
            }
            if now >= nextBeat {
                noticeProgramChange(onEvent)
                noticeModeChange(onEvent)
            }
            // With no traffic, time still passes: incidents close, thresholds tick. Not during
            // warmup: the baseline is learned over traffic, so it starts with the first sample.
            if batch.isEmpty && detector.isWarmedUp { detector.advance(to: now &- 100_000_000) }
            try handle(detector.drainEvents(), now: now, onEvent)
            saveIfDue(now)
            try expire(now: now, onEvent)
            if !waiting.isEmpty { try retryWaiting(now: now, onEvent) }
            beatIfDue(now, attached: true)
        }
    }

    /// The heartbeat: the loop's counters with the filter's, and rates over the last beat.
    /// `attached`: false while the loop waits for a filter (nothing is enforced).
    private func beat(now: UInt64, attached: Bool, _ onEvent: (SidecarEvent) -> Void) {
        if let s = try? dataplane.stats() {
            if let (t, packets, dropped) = lastBeat, now > t {
                let seconds = Double(now - t) / 1e9
                stats.filterPps = Double(s.packets &- packets) / seconds
                stats.filterDropPps = Double(s.dropped &- dropped) / seconds
            }
            lastBeat = (now, s.packets, s.dropped)
            stats.filterPackets = s.packets
            stats.filterDropped = s.dropped
            stats.ringFull = s.ringFull
            if let lost = sampleLoss.note(now: now, ringFull: s.ringFull, sampled: s.sampled) {
                onEvent(.notice(kind: "samples-lost", message: lost.message(sampleEvery: config.sampleEvery)))
            }
        }
        if !config.protected.isEmpty, let r = coverage.note(now: now) {
            onEvent(.notice(kind: "outside-protected", message: r.message(protected: config.protected)))
        }
        stats.filterAttached = attached
        onEvent(.heartbeat(stats))
    }

    /// A change to the filter's table; false when it was not made and waits. Refused because the
    /// filter was detached under the sidecar (`holon filter detach --force`), it counts as made:
    /// `owned` then says what the sidecar wants, and ``reattach(now:_:)``, looked for at once,
    /// installs that in the next filter, or stops the sidecar when none comes. Refused because
    /// the rule state cannot be written (``stateRefused(_:now:_:)``), it waits: the caller leaves
    /// `owned` as it was and the change is tried again on a later turn.
    @discardableResult
    func changeFilter(now: UInt64, _ onEvent: (SidecarEvent) -> Void, _ change: () throws(DataplaneError) -> Void) throws(DataplaneError) -> Bool {
        if let b = stateBlocked, now < b.retryAt { return false }
        do { try change() } catch {
            switch error {
            case .detachedMeanwhile: filterLost = true
            case .stateFile(let why):
                stateRefused(why, now: now, onEvent)
                return false
            default: throw error
            }
        }
        stateWritten(now: now, onEvent)
        return true
    }

    /// The rule state could not be written (a full or read-only /run): the filter keeps its
    /// table, and the loop goes on — detecting, saying so — where it ended the run (a full /run
    /// stopped `holon run` at the first attack). Changes are tried again once a second.
    func stateRefused(_ why: String, now: UInt64, _ onEvent: (SidecarEvent) -> Void) {
        if stateBlocked == nil {
            onEvent(.notice(kind: "state-unwritable", message: "the rule state cannot be written (\(why)): the filter keeps its table as it is, and the loop's changes (new rules, their removal) wait; tried again every second"))
        }
        stateBlocked = (since: stateBlocked?.since ?? now, retryAt: now &+ 1_000_000_000)
    }

    /// A change went in: after a time the state could not be written, said once.
    func stateWritten(now: UInt64, _ onEvent: (SidecarEvent) -> Void) {
        guard let b = stateBlocked else { return }
        stateBlocked = nil
        onEvent(.notice(kind: "state-writable", message: String(format: "the rule state is written again after %.0f s: the changes that waited are being made", Double(now &- b.since) / 1e9)))
    }

    func ingest(_ s: DataplaneSample) {
        guard s.timestamp >= startedAt else {
            stats.stale += 1
            return
        }
        stats.samples += 1
        let ours = s.ruleID.map { $0 >= config.ruleIDBase } ?? false
        switch s.verdict {
        case .pass, .counted, .allowlisted:
            break
        case .drop, .rateLimited:
            guard ours, detector.isWarmedUp else {
                if !detector.isWarmedUp { stats.skippedDuringWarmup += 1 }
                return
            }
        case .unparsed:
            stats.unparsed += 1
            return
        }
        guard let f = try? s.features() else {
            stats.unparsed += 1
            return
        }
        let dropped = s.verdict == .drop || s.verdict == .rateLimited
        if !config.protected.isEmpty {
            let inside = config.protected.contains { $0.contains(f.dstIP) }
            coverage.count(f.dstIP, inside: inside)
            guard inside else {
                stats.outsideProtected += 1
                return
            }
        }
        // Dropped traffic is judged (it keeps its incident open) but never learned as normal.
        detector.ingest(f, verdict: dropped ? .dropped : .passed)
    }

    func handle(_ events: [DetectorEvent], now: UInt64, _ onEvent: (SidecarEvent) -> Void) throws(DataplaneError) {
        stats.unexplainedCrossings = detector.unexplainedCrossings
        for e in events {
            switch e {
            case .calibrated(let open, let close, let pps):
                stats.warmedUp = true
                onEvent(.calibrated(openThreshold: open, closeThreshold: close, baselinePps: pps))
            case .learning(let n, let needed, let ticks, let neededTicks):
                onEvent(.notice(kind: "learning", message: "warmup time is over but the baseline is too thin to judge by "
                    + "(\(n) of \(needed) samples, \(ticks) of \(neededTicks) calibration ticks): still learning, nothing is enforced yet"))
            case .opened(let inc):
                stats.incidents += 1
                stats.openIncidents += 1
                onEvent(.opened(inc))
            case .rules(let incident, let detected):
                try install(detected, incident: incident, now: now, onEvent)
            case .closed(let inc):
                stats.openIncidents = max(0, stats.openIncidents - 1)
                waiting[inc.id] = nil
                forgetIDsOfDone()
                // A false positive's rules go at once: they were dropping real users.
                let until = inc.falsePositive == nil ? now + UInt64(config.hold.components.seconds) * 1_000_000_000 : now
                let closing = owned.filter { $0.value.incident == inc.id }.map(\.key)
                for id in closing {
                    owned[id]?.incident = nil
                    owned[id]?.expiresAt = until
                }
                onEvent(.closed(inc))
                if inc.falsePositive == nil { try softenHeld(closing, onEvent) }
                if let why = inc.falsePositive {
                    stats.falsePositives += 1
                    onEvent(.notice(kind: "false-positive", message: "incident \(inc.id) was a false positive: \(why); its rules are released and not derived again for \(detector.config.suppressReleased)"))
                    try expire(now: now, onEvent)
                }
            }
        }
    }

    func install(_ detected: [DetectedRule], incident: Int, now: UInt64, _ onEvent: (SidecarEvent) -> Void) throws(DataplaneError) {
        defer { forgetIDsOfDone() }
        let ttl = UInt32(clamping: detector.config.ruleTTL.components.seconds)
        var rules = detected.flatMap { d -> [Rule] in
            let r = d.rule(priority: detector.config.rulePriority, ttlSeconds: ttl, name: IncidentRuleName.name(incident: incident))
            return scoped(r, derived: d.id)
        }
        if config.dryRun {
            onEvent(.proposed(incident: incident, rules))
            return
        }
        // A held rule (its incident closed, or adopted) that the new incident derives again is
        // written again under its own id: its counters go on, and a Flowspec route for it is
        // replaced in place, where a new id withdrew the route and announced it again.
        // Compared as predicate sets: the same conjunction in another order is the same rule.
        let heldByMatch = Dictionary(owned.filter { $0.value.incident == nil }.map { (Set($0.value.rule.predicates), $0.key) },
                                     uniquingKeysWith: min)
        var again: [UInt32: UInt64] = [:]   // held ids derived again, and when each went in first
        for i in rules.indices {
            guard let held = heldByMatch[Set(rules[i].predicates)], again[held] == nil else { continue }
            again[held] = owned[held]?.installedAt ?? now
            rules[i].id = held
        }
        let kept = owned.count - again.count
        // Over the budget, an open incident is worth more than a held rule (its attack already
        // gone): the held ones that drop least give way. With too few of those it waits, and is
        // retried when a slot frees (``retryWaiting(now:_:)``).
        var evicted: [UInt32] = []
        let over = kept + rules.count - config.maxRules
        if over > 0 {
            let held = owned.filter { $0.value.incident == nil && again[$0.key] == nil }
                .map { (id: $0.key, rate: dropRate($0.key, $0.value, now: now)) }
                .sorted { $0.rate != $1.rate ? $0.rate < $1.rate : $0.id < $1.id }
            guard held.count >= over else {
                let first = waiting[incident] == nil
                waiting[incident] = detected
                if first {
                    onEvent(.refused(incident: incident, rules, reason: "the sidecar already holds \(kept) rules (limit \(config.maxRules), --max-rules) for open incidents; retried when one frees"))
                }
                return
            }
            evicted = held.prefix(over).map(\.id)
        }
        let replaced = Set(evicted).union(again.keys)
        let wasAdopted = Set(again.keys.filter { owned[$0]?.adopted == true })
        do {
            // A change, not a new table: rules an operator added meanwhile (another process) are
            // kept, and a large table is not compared whole for the incident's few rules.
            let report = try dataplane.change(removing: replaced, adding: rules)
            stateWritten(now: now, onEvent)
            tableSeen = try? dataplane.fingerprint()
            for id in evicted { owned[id] = nil }
            waiting[incident] = nil
            for r in rules { owned[r.id] = Owned(rule: r, incident: incident, expiresAt: nil, installedAt: again[r.id] ?? now) }
            stats.rulesInstalled = owned.count
            if !again.isEmpty {
                let list = again.keys.sorted().map { id in "\(id) (\(wasAdopted.contains(id) ? "adopted from an earlier run" : "held after its attack"))" }
                onEvent(.notice(kind: "derived-again", message: "rule(s) \(list.joined(separator: ", ")): derived again by incident \(incident), enforced under the same id"))
            }
            if !evicted.isEmpty { onEvent(.removed(evicted.sorted(), reason: "held rule(s) gave way to open incident \(incident) (rule budget)")) }
            onEvent(.installed(incident: incident, rules, nanoseconds: report.nanoseconds))
            // Observe mode (the starting configuration, or a reload or the API since): the
            // rules count what they match and drop nothing, which "installed" alone hides.
            if dataplane.observes() == true {
                onEvent(.notice(kind: "observe-mode", message: "incident \(incident): the filter observes: its rule(s) count what they match and drop nothing (observe: false to enforce)"))
            }
        } catch {
            if case .compile = error {
                onEvent(.refused(incident: incident, rules, reason: error.description))
                return
            }
            if case .stateFile(let why) = error {
                let first = waiting[incident] == nil
                waiting[incident] = detected
                stateRefused(why, now: now, onEvent)
                if first { onEvent(.refused(incident: incident, rules, reason: "the rule state cannot be written (\(why)): nothing installed; tried again every second")) }
                return
            }
            // Detached under the sidecar: the incident's rules wait for the next filter.
            guard case .detachedMeanwhile = error else { throw error }
            waiting[incident] = detected
            filterLost = true
        }
    }

    /// A rule limited to the protected networks when it names no destination of its own: as is
    /// with one prefix, one copy per prefix with several; each with an id of its own.
    /// `derived`: the detector's id of the rule (``idsOf``).
    func scoped(_ r: Rule, derived: UInt32) -> [Rule] {
        let p = config.protected
        let prefixes = p.isEmpty || r.predicates.contains(where: { $0.field == .dstIP }) ? [] : Array(p.prefix(SidecarConfig.maxProtected))
        let n = max(1, prefixes.count)
        let given = idsOf[derived].flatMap { $0.count == n ? $0 : nil } ?? (0..<n).map { _ in ids.next() }
        idsOf[derived] = given
        guard !prefixes.isEmpty else {
            var one = r
            one.id = given[0]
            return [one]
        }
        return zip(prefixes, given).map { prefix, id in
            var c = r
            c.id = id
            c.predicates.append(.prefix(.dstIP, prefix.address, length: prefix.length))
            return c
        }
    }

    /// Forgets the ids of rules that no longer wait.
    func forgetIDsOfDone() {
        let still = Set(waiting.values.flatMap { $0.map(\.id) })
        idsOf = idsOf.filter { still.contains($0.key) }
    }

    /// With its attack gone, a held rule only waits for the attack to resume: a drop becomes a
    /// rate limit (``SidecarConfig/heldRate`` a second, a second's burst), so the few real
    /// packets that share the attack's match pass during the hold, while a resumed flood is
    /// still cut to a trickle until it is detected and the match derived again.
    func softenHeld(_ ids: [UInt32], _ onEvent: (SidecarEvent) -> Void) throws(DataplaneError) {
        let soften = Set(ids.filter { owned[$0]?.rule.action == .drop })
        guard !soften.isEmpty, !config.dryRun else { return }
        let limited = Action.rateLimit(pps: config.heldRate, burst: config.heldRate)
        guard try changeFilter(now: dataplane.now(), onEvent, { () throws(DataplaneError) in
            try dataplane.update { $0.map { r in
                guard soften.contains(r.id) else { return r }
                var s = r
                s.action = limited
                return s
            } }
        }) else { return }
        for id in soften { owned[id]?.rule.action = limited }
        tableSeen = try? dataplane.fingerprint()
        // A change of what the rules do, under their ids: a Flowspec route for one says it too.
        onEvent(.changed(soften.sorted().compactMap { owned[$0]?.rule },
                         reason: "attack gone, held for \(config.hold) as a rate limit of \(config.heldRate) pps"))
    }

    /// Drops a second since the rule went in: what a rule is worth when the budget is full.
    func dropRate(_ id: UInt32, _ o: Owned, now: UInt64) -> Double {
        let seconds = max(1, Double(now &- o.installedAt) / 1e9)
        return Double(dataplane.counters(forRule: id).drops) / seconds
    }

    /// Incidents refused for the budget get their rules as soon as there is room.
    func retryWaiting(now: UInt64, _ onEvent: (SidecarEvent) -> Void) throws(DataplaneError) {
        if let b = stateBlocked, now < b.retryAt { return }
        for (incident, detected) in waiting.sorted(by: { $0.key < $1.key }) {
            try install(detected, incident: incident, now: now, onEvent)
        }
    }

    func expire(now: UInt64, _ onEvent: (SidecarEvent) -> Void) throws(DataplaneError) {
        try refresh(now: now, onEvent)
        let due = owned.filter { ($0.value.expiresAt ?? .max) <= now }.map(\.key)
        guard !due.isEmpty else { return }
        guard try changeFilter(now: now, onEvent, { () throws(DataplaneError) in _ = try dataplane.delete(ids: Set(due)) }) else { return }
        tableSeen = try? dataplane.fingerprint()
        let adopted = due.contains { owned[$0]?.adopted == true }
        for id in due { owned[id] = nil }
        stats.rulesInstalled = owned.count
        onEvent(.removed(due.sorted(), reason: adopted ? "TTL over (adopted from an earlier run)" : "attack gone for the hold time"))
    }

    /// Every rule's `:ttl` is a hard limit from when it was last verified: a rule whose TTL runs
    /// out while its incident is still open (the attack still arriving, from sources the
    /// baseline does not know, else it would have been released) is written again with a new
    /// `:created`. So a rule outlives the evidence for it by at most its TTL, also across a
    /// restart that adopts it.
    func refresh(now: UInt64, _ onEvent: (SidecarEvent) -> Void) throws(DataplaneError) {
        let due = owned.filter { $0.value.incident != nil && $0.value.rule.isExpired(at: now) }
        guard !due.isEmpty else { return }
        var renewed: [UInt32: Rule] = [:]
        for (id, o) in due {
            var r = o.rule
            r.createdAt = now
            renewed[id] = r
        }
        guard try changeFilter(now: now, onEvent, { () throws(DataplaneError) in try dataplane.update { $0.map { renewed[$0.id] ?? $0 } } }) else { return }
        for (id, r) in renewed { owned[id]?.rule = r }
        tableSeen = try? dataplane.fingerprint()
        onEvent(.notice(kind: "re-verified", message: "rule(s) \(renewed.keys.sorted().map(String.init).joined(separator: ", ")): the attack is still seen, TTL renewed"))
    }
}
