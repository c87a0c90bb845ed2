import Foundation
import Holon
import Packets

/// Attacks the detector has closed, kept to recognise them when they come back.
///
/// A pulse attack (2 s on, 3 s off) is quiet long enough for its incident to close and its rules
/// to go. Without a memory every pulse is a new crossing, a new attribution and the same rule
/// again, 30–100 ms later. With one, the first samples of a returning attack match a remembered
/// rule far above the rate its baseline share predicts: the rule is reinstated at the next tick
/// (≤ one tick, 10 ms), before the drift has even crossed the line.
struct AttackMemory {
    struct Entry: Sendable, Equatable {
        /// The incident's rules as derived (each with its exceptions).
        var rules: [DetectedRule]
        var name: String
        /// The incident it was first derived for, and how often it has come back since.
        var firstIncident: Int
        var recalls = 0
        var lastClosed: UInt64
        /// The vectors of the packets its rules matched (``Incident``'s attack accumulator): a
        /// returning attack is this one only if what the rules match now looks like it.
        var vector: Accumulator
        /// Baseline share of all its rules together: what it matches of normal traffic.
        var baselineShare: Double { rules.reduce(0) { $0 + $1.baselineShare } }

        /// The same remembered attack (the vector by its sums, weight and count: an accumulator
        /// says nothing else about itself).
        static func == (a: Entry, b: Entry) -> Bool {
            a.rules == b.rules && a.name == b.name && a.firstIncident == b.firstIncident && a.recalls == b.recalls
                && a.lastClosed == b.lastClosed && a.vector.sums == b.vector.sums && a.vector.weight == b.vector.weight
                && a.vector.count == b.vector.count
        }
    }

    /// Oldest forgotten first beyond this many.
    static let capacity = 32
    /// Samples beyond the prediction a remembered rule must match in one look to be recalled:
    /// the same margin attribution asks of a new rule, with a smaller floor since the rule was
    /// already proven on this attack.
    static let floor = 8.0
    /// At most this many of the newest samples are looked at per tick (bounded cost).
    static let lookLimit = 512
    /// Matched samples encoded to compare with the remembered vector.
    static let compareLimit = 64
    /// Cosine between what the rules match now and what they matched then, at least: the same
    /// attack again gives ≥ 0.9; another attack that happens to fall under a remembered rule (a
    /// fragment flood under a UDP flood's size rule) shares only the rule's fields.
    static let minSimilarity = 0.8

    private(set) var entries: [Entry] = []
    /// `ring.written` when the ring was last looked at.
    var mark = 0
    /// Restored from a snapshot, the entries' times are counted back from the save
    /// (``DetectorSnapshot/attacks``) until the new run's clock starts (``startClock(at:)``).
    private var timesBeforeStart = false

    init() {}

    /// The entries of a snapshot, their times (`lastClosed`, rules' `derivedAt`) nanoseconds
    /// before the save: they become times of the new run's clock at its first sample.
    init(restoring saved: [Entry]) {
        entries = Array(saved.suffix(Self.capacity))
        timesBeforeStart = !entries.isEmpty
    }

    /// Places restored times on the new run's clock, `t` being its first sample: what closed a
    /// minute before the save closed a minute before the start (never before time 0).
    mutating func startClock(at t: UInt64) {
        guard timesBeforeStart else { return }
        timesBeforeStart = false
        entries = Self.shifted(entries) { ago in t > ago ? t - ago : 0 }
    }

    /// The entries with their times counted back from `now`, as a snapshot holds them (those
    /// its format can store: ``Entry/isStorable``).
    func saved(at now: UInt64) -> [Entry] {
        let kept = entries.filter(\.isStorable)
        return timesBeforeStart ? kept : Self.shifted(kept) { t in now > t ? now - t : 0 }
    }

    /// Every time in `entries` (when closed, when each rule and exception was derived) mapped by `f`.
    static func shifted(_ entries: [Entry], _ f: (UInt64) -> UInt64) -> [Entry] {
        func rule(_ r: DetectedRule) -> DetectedRule {
            var c = r
            c.derivedAt = f(r.derivedAt)
            c.exceptions = r.exceptions.map(rule)
            return c
        }
        return entries.map { e in
            var e = e
            e.lastClosed = f(e.lastClosed)
            e.rules = e.rules.map(rule)
            return e
        }
    }

    /// Remembers an incident's rules (not a false positive's); the same rule set again refreshes
    /// its entry instead of adding one.
    mutating func remember(_ inc: Incident, at t: UInt64) {
        guard inc.falsePositive == nil, !inc.rules.isEmpty else { return }
        let key = Self.key(inc.rules)
        if let k = entries.firstIndex(where: { Self.key($0.rules) == key }) {
            entries[k].lastClosed = t
            entries[k].name = inc.name
            return
        }
        let vector = inc.attack.count > 0 ? inc.attack : inc.attackWithoutTransport
        guard vector.count > 0 else { return }
        entries.append(Entry(rules: inc.rules, name: inc.name, firstIncident: inc.id, lastClosed: t, vector: vector))
        if entries.count > Self.capacity { entries.removeFirst(entries.count - Self.capacity) }
    }

    mutating func recalled(_ k: Int) { entries[k].recalls += 1 }

    /// What a set of rules matches, whatever their ids and order.
    static func key(_ rules: [DetectedRule]) -> Set<Set<Candidate>> { Set(rules.map { Set($0.predicates) }) }
}

extension Detector {
    /// Looks at the samples that arrived since the last tick for an attack the memory holds and
    /// no rule covers now; reinstates the rules of each one found as a new incident.
    mutating func recallAttacks(at t: UInt64) {
        let fresh = ring.written - memory.mark
        memory.mark = ring.written
        guard fresh > 0, !memory.entries.isEmpty else { return }
        let samples = ring.last(min(fresh, AttackMemory.lookLimit, ring.capacity))
        guard let first = samples.first?.timestamp, let last = samples.last?.timestamp else { return }
        // The time the samples span, at least one tick: what normal traffic would bring in it.
        let seconds = max(Double(last &- first), Double(tickNs)) / 1e9
        let active = Set(activeRules.map { Set($0.rule.predicates) })
        for k in memory.entries.indices {
            let entry = memory.entries[k]
            guard !entry.rules.contains(where: { active.contains(Set($0.predicates)) }) else { continue }
            let covered = samples.reduce(0) { n, f in entry.rules.contains { $0.matches(f) } ? n + 1 : n }
            let predicted = entry.baselineShare * baseline.sampleRate * seconds
            guard Double(covered) > 3 * predicted + 5 * predicted.squareRoot() + AttackMemory.floor else { continue }
            var now = Accumulator(dimension: config.dimension)
            for f in samples.lazy.filter({ f in entry.rules.contains { $0.matches(f) } }).prefix(AttackMemory.compareLimit) {
                encoder.encode(DetectorRecord(f), into: &vector)
                now.add(vector)
            }
            let similarity = now.cosine(entry.vector)
            guard similarity >= AttackMemory.minSimilarity else { continue }
            reinstate(k, at: t, similarity: similarity)
        }
    }

    /// The remembered rules in force again, as a new incident (new rule ids: the data plane
    /// tells incidents apart by them).
    mutating func reinstate(_ k: Int, at t: UInt64, similarity: Double) {
        memory.recalled(k)
        let entry = memory.entries[k]
        let note = String(format: "recalled: incident %d's rule, its attack seen again (similarity %.2f)", entry.firstIncident, similarity)
        reinstate(entry.rules, name: entry.name, at: t, note: note)
    }

    /// Opens an incident whose rules are `rules` again (renumbered, with `note`), and settles:
    /// what any memory does once it recognises an attack. Returns the incident's id.
    @discardableResult
    mutating func reinstate(_ remembered: [DetectedRule], name: String, at t: UInt64, note: String) -> Int {
        var inc = Incident(id: nextIncidentID(), openedAt: t, drift: lastDrift, dimension: config.dimension)
        inc.name = name
        incidents.append(inc)
        let i = incidents.count - 1
        announce(i)
        let rules = remembered.map { renumbered($0, at: t, note: note) }
        incidents[i].rules = rules
        for r in rules { activeRules.append((inc.id, r)) }
        events.append(.rules(incident: inc.id, rules.flatMap(\.installed)))
        // The samples that brought it back are its own: not unexplained traffic of another attack,
        // nor a surge. And as after a derivation, the detector settles: the drift those samples
        // raised before the rule was back decays with the half-life, and while armed it would
        // open a second incident whose attribution derives the same rule again from them (seen
        // when a tick's phase let ~100 samples in before the recall).
        residualMark = (ring.written, t)
        surgeMark = (ring.written, t)
        if phase == .armed {
            phase = .settling
            ticksAbove = 0
            nextResidualCheck = t + 250_000_000
        }
        return inc.id
    }

    /// A copy of a remembered rule (and its exceptions) with fresh ids.
    mutating func renumbered(_ r: DetectedRule, at t: UInt64, note: String) -> DetectedRule {
        let id = nextRuleID
        nextRuleID += 1
        var copy = DetectedRule(id: id, rateLimitPps: r.rateLimitPps, derivedAt: t,
                                explanation: note + "; " + r.explanation, predicates: r.predicates,
                                baselineShare: r.baselineShare)
        copy.spared = r.spared
        copy.passes = r.passes
        copy.authentication = r.authentication
        copy.exceptions = r.exceptions.map { renumbered($0, at: t, note: "recalled") }
        return copy
    }
}
