import Dataplane
import Detection
import Foundation
import Rules

/// What changes under the loop, made by others: operators' releases and pins (through the
/// table), the filter's mode, another version's program, the rules an earlier run left, and
/// the filter itself detached and attached anew. Each is noticed and said, never silently.
extension Sidecar {
    /// Another process changed the sidecar's rules (``tableSeen`` moved): a rule an operator
    /// deleted (`holon rules release`) is released — its incident is left unmitigated and its
    /// match not derived again for a while; a rule an operator pinned (its TTL taken away,
    /// `holon rules pin`) is the operator's from now on.
    func noticeOperatorChanges(now: UInt64, _ onEvent: (SidecarEvent) -> Void) throws(DataplaneError) {
        guard !owned.isEmpty || !pinned.isEmpty, let fp = try? dataplane.fingerprint(), fp != tableSeen else { return }
        let table = Dictionary(try dataplane.reloadRules().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        tableSeen = fp
        for (id, o) in owned {
            if table[id] == nil {
                owned[id] = nil
                detector.suppress(o.rule.predicates, at: now)
                // A removal like any other: what follows the loop's rules (a Flowspec route, the
                // API's rule-to-incident map) lets go of it too.
                onEvent(.removed([id], reason: "released by an operator; its match is not derived again for \(detector.config.suppressReleased)"))
            } else if table[id]?.ttlSeconds == nil {
                owned[id] = nil
                pinned.insert(id)
                onEvent(.notice(kind: "pinned", message: "rule \(id) was pinned by an operator: it stays until removed with `holon rules del \(id)`"))
            }
        }
        let deleted = pinned.filter { table[$0] == nil }
        if !deleted.isEmpty {
            pinned.subtract(deleted)
            onEvent(.removed(deleted.sorted(), reason: "pinned, and deleted by an operator"))
        }
        stats.rulesInstalled = owned.count
    }

    /// Another holon version took the filter over under this loop (`holon filter attach` after
    /// an upgrade): its program then reads the tables this loop lays out. Said when it starts
    /// and when it ends (this version's program back on the filter), never silently.
    func noticeProgramChange(_ onEvent: (SidecarEvent) -> Void) {
        let problem = dataplane.programProblem()
        guard problem != programSeen else { return }
        programSeen = problem
        let filter = dataplane.options.map { "the filter on \($0.interface)" } ?? "the filter"
        if let problem {
            onEvent(.notice(kind: "filter-program-changed", message: "\(filter) no longer runs this holon run's program (\(problem)): it reads the rules this run writes; restart holon run with the version that attached it"))
        } else {
            onEvent(.notice(kind: "filter-program-restored", message: "\(filter) runs this holon run's program again"))
        }
    }

    /// The filter's mode changed under the loop (`holon filter observe`, `PUT /api/mode`, a
    /// reload): said as an event, which a Flowspec announcer follows (the network drops nothing
    /// the filter only observes). A mode that cannot be read changes nothing.
    func noticeModeChange(_ onEvent: (SidecarEvent) -> Void) {
        guard let observes = dataplane.observes(), observes != observeSeen else { return }
        let first = observeSeen == nil
        observeSeen = observes
        if !first { onEvent(.filterMode(observe: observes)) }
    }

    /// Takes over the sidecar-range rules already in the filter (a restart): each stays until
    /// its TTL from when it was derived, and at least one hold from now.
    func adopt(now: UInt64, _ onEvent: (SidecarEvent) -> Void) {
        // New ids go above every sidecar-range id in the table, pinned rules' too: theirs stay
        // taken though they are no longer the loop's.
        ids.reserve(above: dataplane.rules)
        // A sidecar-range rule without a TTL was pinned by an operator: theirs, not adopted,
        // only followed until it is deleted.
        let ours = dataplane.rules.filter { $0.id >= config.ruleIDBase }
        let mine = ours.filter { $0.ttlSeconds != nil }
        let pinnedHere = ours.filter { $0.ttlSeconds == nil }
        pinned = Set(pinnedHere.map(\.id))
        // This run's incidents are numbered after those the table's rules were derived for: a
        // restart numbered from 1 again, and a new incident's rule bore an adopted one's name.
        detector.numberIncidents(after: ours.compactMap { IncidentRuleName.incident(of: $0.name) }.max() ?? 0)
        guard !ours.isEmpty else { return }
        let hold = UInt64(config.hold.components.seconds) * 1_000_000_000
        for r in mine {
            let ttlEnd = r.expiresAt ?? now
            owned[r.id] = Owned(rule: r, incident: nil, expiresAt: max(ttlEnd, now + hold), adopted: true, installedAt: r.createdAt ?? now)
        }
        stats.rulesInstalled = owned.count
        onEvent(.adopted(mine + pinnedHere))
    }

    /// The filter was detached under the sidecar (`holon filter detach --force`). When a new one
    /// is attached, drive it: sampling set, the sidecar's rules installed again. With none, wait
    /// ``SidecarConfig/reattachGrace`` and then stop with the reason (returns false while
    /// waiting). Never silent: the operator hears about every step.
    ///
    /// When the filter went with its interface (``LoopFilter/linkLost()``) and the loop owns the
    /// attachment (``SidecarConfig/attachAgainAs``), it waits as long as it takes, saying so
    /// every minute, and attaches the filter again itself as soon as the interface is back.
    func reattach(now: UInt64, _ onEvent: (SidecarEvent) -> Void) throws(DataplaneError) -> Bool {
        // A filter of this process only (the test double) is gone only when it plays its
        // interface going away.
        let options = dataplane.options
        guard options != nil || lostSince != nil || dataplane.linkLost() else { return true }
        let interface = options.map { $0.interface + ($0.namespace.map { " (netns \($0))" } ?? "") } ?? "the filter's interface"
        let pins = options?.pinDirectory ?? "the filter"
        if lostSince == nil {
            lostSince = now
            remindedAt = now
            interfaceGone = dataplane.linkLost()
            onEvent(.notice(kind: "filter-lost", message: lostMessage(interface)))
        }
        var found: (any LoopFilter)?
        var attachedHere = false
        if interfaceGone, let mode = config.attachAgainAs {
            found = try dataplane.attachAgain(mode)
            attachedHere = found != nil
        }
        // While the link is still gone with the maps pinned, no one attached a filter: opening
        // it again (the pins, the state file: ~0.3 s at 100k rules) waits until that changes.
        // Tried every 50 ms, it kept a core busy for as long as the interface was away.
        if found == nil && !dataplane.linkLost() { found = dataplane.reopen() }
        guard let fresh = found else {
            if interfaceGone && config.attachAgainAs != nil {
                if now - remindedAt >= 60_000_000_000 {
                    remindedAt = now
                    onEvent(.notice(kind: "filter-lost", message: "\(interface) is still \(attachedOnce ? "gone" : "not there") after \((now - lostSince!) / 1_000_000_000) s: nothing is enforced on it; its filter is attached as soon as it is there"))
                }
                return false
            }
            if now - lostSince! >= UInt64(config.reattachGrace.components.seconds) * 1_000_000_000 {
                let why = interfaceGone ? "its interface went away, and the filter was not attached again" : "detached under holon run and not attached again"
                throw .notAttached("\(pins) (\(why) within \(config.reattachGrace))")
            }
            return false
        }
        let wasThere = attachedOnce
        dataplane = fresh
        lostSince = nil
        interfaceGone = false
        attachedOnce = true
        try dataplane.setSampleEvery(config.sampleEvery)
        if let problem = dataplane.stateProblem { throw problem }
        // The new filter's table may hold sidecar-range ids of its own (restored at attach).
        ids.reserve(above: dataplane.rules)
        let mine = owned.values.map(\.rule)
        var installed = config.dryRun ? 0 : mine.count
        if !config.dryRun && !mine.isEmpty {
            // A rule state that cannot be written (a full /run) leaves them out, said below.
            if try !changeFilter(now: now, onEvent, { () throws(DataplaneError) in
                try dataplane.update { current in current.filter { r in !mine.contains { $0.id == r.id } } + mine }
            }) { installed = 0 }
            // Detached again before the rules went in: not "reattached"; looked for anew at once.
            if filterLost { return true }
        }
        let what = attachedHere ? "\(interface) is \(wasThere ? "back: its filter is attached again" : "there: its filter is attached") (\(config.attachAgainAs?.rawValue ?? "") XDP), rules and settings kept"
            : "a new filter is attached on \(interface)"
        onEvent(.notice(kind: "filter-reattached", message: "\(what): sampling 1 in \(config.sampleEvery) set, \(installed) sidecar rule(s) installed again" + (installed < mine.count && !config.dryRun ? " (\(mine.count) not: the rule state cannot be written)" : "")))
        return true
    }

    /// What the loop says when its filter is found gone.
    private func lostMessage(_ interface: String) -> String {
        guard interfaceGone else {
            return "the filter on \(interface) was detached under the sidecar: nothing is enforced; waiting \(config.reattachGrace) for a new one"
        }
        if !attachedOnce {
            return "\(interface) is not there: nothing is enforced on it; its filter is attached, rules kept, as soon as it appears"
        }
        if config.attachAgainAs != nil {
            return "\(interface) went away (deleted, reset, or its namespace gone) and its filter's link with it: nothing is enforced on it; the filter is attached again, rules kept, as soon as it is back"
        }
        return "\(interface) went away (deleted, reset, or its namespace gone) and its filter's link with it: nothing is enforced on it; "
            + "once it is back, `holon filter attach` attaches the filter again with its rules (waiting \(config.reattachGrace), then this run stops; "
            + "holon run --config attaches it itself)"
    }
}
