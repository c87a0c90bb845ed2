import Foundation
import Packets
import Rules

/// What may be announced to a whole network, decided once by the operator.
public struct AnnouncePolicy: Sendable, Equatable {
    /// Only rules whose destination lies inside one of these are announced; empty: none is.
    public var protected: [IPPrefix]
    /// At most this many rules announced at once (a network-wide blast radius has a ceiling).
    public var maxAnnounced: Int
    /// Log what would be announced; announce nothing (the `bgp.observe` key: Flowspec alone).
    public var observe: Bool
    public var packetBytes: Int
    /// Sources the host never drops (the allowlist): a route that could drop them at the
    /// routers is not announced, since Flowspec has no exception to carry. Empty when the
    /// operator says they do not cross the routers (`bgp.spare_allowlist: false`).
    public var spared: [IPPrefix]

    public init(protected: [IPPrefix], maxAnnounced: Int = 32, observe: Bool = false, packetBytes: Int = 1500, spared: [IPPrefix] = []) {
        self.protected = protected
        self.maxAnnounced = maxAnnounced
        self.observe = observe
        self.packetBytes = packetBytes
        self.spared = spared
    }
}

/// One rule's fate at the speaker, as the API and the dashboard show it.
public struct Announcement: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        case announced, withdrawn, refused, observed, failed
    }
    public var ruleID: UInt32
    public var state: State
    /// The specification in GoBGP's words (announced, observed, withdrawn), or why not.
    public var detail: String
    /// Predicates Flowspec could not carry, dropped because the wider rule spares the baseline.
    public var widened: [String]
    /// From the call to the speaker's acknowledgement (announced only).
    public var milliseconds: Double?

    enum CodingKeys: String, CodingKey { case ruleID = "rule_id", state, detail, widened, milliseconds }
}

/// Announces the rules the live loop installs and withdraws them when it takes them out or
/// stops, through a ``FlowspecSpeaker``, under an ``AnnouncePolicy``. Calls return at once: the
/// speaker is driven from a queue of its own so the loop never waits for BGP.
public final class FlowspecAnnouncer: @unchecked Sendable {
    let speaker: any FlowspecSpeaker
    var policy: AnnouncePolicy
    let report: @Sendable (Announcement) -> Void
    let queue = DispatchQueue(label: "holon.flowspec")
    let lock = NSLock()
    var table: [UInt32: Announcement] = [:]
    /// What is announced now, by rule id (to withdraw exactly what was sent).
    var live: [UInt32: FlowspecRule] = [:]
    /// The loop's rules as it last said them (announced or not): what goes out when the
    /// network may drop again after observing. Touched on `queue` only.
    var current: [UInt32: Rule] = [:]
    /// The baseline given with the latest rules, for widening those.
    var lastBaseline: [PacketFeatures]?
    /// Filters that only observe now, by name: while any does, nothing is announced.
    var observingFilters: Set<String> = []
    /// Rules refused for the ceiling (`maxAnnounced`), announced as soon as a route leaves.
    /// Touched on `queue` only.
    var waitingForRoom: Set<UInt32> = []
    /// When ``reconcileIfDue(every:)`` last started a check (under `lock`).
    var lastReconcile: ContinuousClock.Instant?

    /// Where what is announced is kept for the next run (nil: nowhere), and what is said when
    /// it cannot be written.
    let ledger: AnnouncedLedger?
    let warn: @Sendable (String) -> Void
    /// The ledger's last write failed (said once until one succeeds). Touched on `queue` only.
    var ledgerFailing = false

    /// The pass rules of the host's tables, operators' too (nil: a table could not be read):
    /// exceptions a route would not carry. Without it, only the loop's own rules are looked at.
    let hostPasses: (@Sendable () -> [Rule]?)?
    /// ``hostPasses`` read once for the batch of announcements under way (``batch(_:)``), nil
    /// outside one. Touched on `queue` only.
    var passesOfBatch: [Rule]??

    /// Runs `body`, a batch of announcements (on `queue`), with the host's pass rules read once:
    /// read for each rule, a million-rule table was gone through once per rule of a batch.
    func batch(_ body: () -> Void) {
        passesOfBatch = hostPasses.map { $0() }
        defer { passesOfBatch = nil }
        body()
    }

    public init(speaker: any FlowspecSpeaker, policy: AnnouncePolicy,
                report: @escaping @Sendable (Announcement) -> Void = { _ in },
                ledger: AnnouncedLedger? = nil, warn: @escaping @Sendable (String) -> Void = { _ in },
                hostPasses: (@Sendable () -> [Rule]?)? = nil) {
        self.hostPasses = hostPasses
        self.speaker = speaker
        self.policy = policy
        self.ledger = ledger
        self.warn = warn
        self.report = report
    }

    /// Every rule's latest state, by id.
    public var announcements: [Announcement] { lock.withLock { table.values.sorted { $0.ruleID < $1.ruleID } } }

    /// Announces `rules` (in the background). `baseline`: the packets a widened rule must spare;
    /// nil refuses every rule that would need widening.
    public func announce(_ rules: [Rule], baseline: [PacketFeatures]?) {
        queue.async { [self] in
            if baseline != nil { lastBaseline = baseline }
            // All of them known first: a rule's exceptions come with it, after it.
            for r in rules { current[r.id] = r }
            batch { for r in rules { announceNow(r, baseline: baseline) } }
        }
    }

    public func withdraw(_ ids: [UInt32]) {
        queue.async { [self] in
            for id in ids {
                current[id] = nil
                waitingForRoom.remove(id)
                withdrawNow(id)
            }
            announceWaiting()
        }
    }

    /// Withdraws everything announced and waits for the speaker (Holon stopping).
    public func withdrawAll() {
        queue.sync { for id in lock.withLock({ Array(live.keys) }).sorted() { withdrawNow(id) } }
    }

    /// Waits until every call made so far has reached the speaker.
    public func flush() { queue.sync {} }

    /// Refused: said, and a route the rule had (announced before the reason arose: an address
    /// allowlisted by a reload) withdrawn.
    func refuse(_ id: UInt32, _ why: String, widened: [String]) {
        if lock.withLock({ live[id] != nil }) { withdrawNow(id) }
        record(Announcement(ruleID: id, state: .refused, detail: why, widened: widened))
    }

    /// Why the route of `routed` (what the router would match: `rule`, or the wider rule
    /// Flowspec carries) would drop traffic the host spares; nil when it would not. The host
    /// passes allowlisted sources whatever rule they meet, and a pass rule above `rule` (the
    /// exception the loop derives for a source it learned as legitimate) takes its packets
    /// first; at a router the route alone decides. Overlap is judged from the matches alone,
    /// and only a provable miss (another protocol, port or prefix) counts as none.
    func sparing(_ routed: Rule, as rule: Rule) -> String? {
        if let a = policy.spared.first(where: { routed.mayMatchSource(in: $0) }) {
            return "it could drop the allowlisted \(a) at the routers, which the host never drops; Flowspec carries no exception "
                + "(bgp.spare_allowlist: false announces such routes, for allowlisted sources that never cross the routers)"
        }
        // Ranked as the host ranks `rule`, matched against what the router would match.
        var asRouted = routed
        (asRouted.id, asRouted.priority) = (rule.id, rule.priority)
        var table = Array(current.values)
        if let hostPasses {
            guard let passes = passesOfBatch ?? hostPasses() else {
                return "the host's table could not be read to look for exceptions above it (a route would not carry them)"
            }
            table += passes.filter { current[$0.id] == nil }
        }
        let exceptions = asRouted.exceptions(in: table).map(\.id).sorted()
        guard !exceptions.isEmpty else { return nil }
        return "its exception\(exceptions.count == 1 ? "" : "s") (rule\(exceptions.count == 1 ? "" : "s") \(exceptions.map(String.init).joined(separator: ", "))) "
            + "pass traffic it matches, sources the host spares; Flowspec carries no exception, so the route would drop them at the routers"
    }

    /// The guardrails, in order; nil when the rule may go.
    func refusal(_ fs: FlowspecRule) -> String? {
        guard let dst = fs.destination else {
            return "no destination: a network-wide rule must name the destinations it protects"
        }
        guard policy.protected.contains(where: { $0.covers(dst) }) else {
            return policy.protected.isEmpty ? "no protected prefixes are configured: nothing is announced"
                : "destination \(dst) is outside the protected prefixes (\(policy.protected.map(\.description).joined(separator: ", ")))"
        }
        guard fs.components.count > 1 else {
            return "the match is only the destination \(dst): that is a blackhole of the host, not a filter"
        }
        return nil
    }

    func announceNow(_ rule: Rule, baseline: [PacketFeatures]?) {
        let outcome = FlowspecTranslator(packetBytes: policy.packetBytes).translate(rule, baseline: baseline ?? [])
        var widened: [String] = []
        let fs: FlowspecRule
        var routed = rule
        switch outcome {
        case .refused(let why): return refuse(rule.id, why, widened: [])
        case .exact(let r): fs = r
        case .widened(let r, let dropped, let wider):
            guard baseline != nil else {
                return refuse(rule.id, "Flowspec cannot carry \(dropped.joined(separator: " ")) and no baseline is at hand to check the wider rule", widened: [])
            }
            fs = r
            widened = dropped
            routed = wider
        }
        if let why = refusal(fs) ?? sparing(routed, as: rule) { return refuse(rule.id, why, widened: widened) }
        let text = fs.gobgpMatch.joined(separator: " ") + " then " + fs.gobgpThen.joined(separator: " ")
        if observing { return record(Announcement(ruleID: rule.id, state: .observed, detail: text, widened: widened)) }
        let count = lock.withLock { live.keys.contains(rule.id) ? live.count - 1 : live.count }
        guard count < policy.maxAnnounced else {
            waitingForRoom.insert(rule.id)
            return record(Announcement(ruleID: rule.id, state: .refused, detail: "\(policy.maxAnnounced) rules are announced already (the most allowed); announced when one leaves", widened: widened))
        }
        waitingForRoom.remove(rule.id)
        let before = lock.withLock { live[rule.id] }
        if before == fs { return }   // the same route: announcing it again would change nothing
        let t0 = DispatchTime.now().uptimeNanoseconds
        do {
            // A rule rewritten under its id (held as a rate limit, derived again) replaces its
            // route: the same match announced again takes the old one's place at every peer.
            try speaker.announce(fs)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            lock.withLock { live[rule.id] = fs }
            saveLedger()
            record(Announcement(ruleID: rule.id, state: .announced, detail: text, widened: widened, milliseconds: ms))
        } catch {
            record(Announcement(ruleID: rule.id, state: .failed, detail: error.description, widened: widened))
            return
        }
        // Another match (widened otherwise) is another route: the old one is withdrawn after the
        // new one is in, so the network never goes without either.
        if let before, !before.sameMatch(fs) { withdrawRoute(before, of: rule.id) }
    }

    /// Another announced rule with the same match as `fs`, if any: the route at the router is
    /// then that rule's too, and must outlive `id`'s.
    func sharing(_ fs: FlowspecRule, besides id: UInt32) -> (id: UInt32, route: FlowspecRule)? {
        lock.withLock { live.first { $0.key != id && $0.value.sameMatch(fs) }.map { ($0.key, $0.value) } }
    }

    /// A route that stays for `other` after `id`'s part in it ended: announced again with the
    /// other rule's action, as the last announcement (`id`'s) may have set another.
    func keepShared(_ other: (id: UInt32, route: FlowspecRule), after fs: FlowspecRule) throws(FlowspecError) {
        if other.route != fs { try speaker.announce(other.route) }
    }

    func withdrawNow(_ id: UInt32) {
        guard let fs = lock.withLock({ live[id] }) else { return }
        do {
            if let other = sharing(fs, besides: id) {
                // Rule `other` (an operator's pinned copy, say) has the same match: withdrawn,
                // the route would leave the router under it too.
                try keepShared(other, after: fs)
                lock.withLock { live[id] = nil }
                saveLedger()
                record(Announcement(ruleID: id, state: .withdrawn, detail: fs.gobgpMatch.joined(separator: " ") + " (the route stays: rule \(other.id) has the same match)", widened: []))
                return
            }
            try speaker.withdraw(fs)
            lock.withLock { live[id] = nil }
            saveLedger()
            record(Announcement(ruleID: id, state: .withdrawn, detail: fs.gobgpMatch.joined(separator: " "), widened: []))
        } catch {
            // Still announced as far as anyone knows: kept, so a later withdrawal retries it.
            record(Announcement(ruleID: id, state: .failed, detail: "withdrawal failed, still announced: \(error.description)", widened: []))
        }
    }

    /// Withdraws the route a rule had before it was announced anew with another match.
    func withdrawRoute(_ old: FlowspecRule, of id: UInt32) {
        do {
            if let other = sharing(old, besides: id) { return try keepShared(other, after: old) }
            try speaker.withdraw(old)
        } catch {
            // No id names it any more, so nothing would retry it: said loudly, on the rule.
            record(Announcement(ruleID: id, state: .failed, detail: "the rule's earlier route (\(old.gobgpMatch.joined(separator: " "))) could not be withdrawn and may still be announced: \(error.description)", widened: []))
        }
    }

    func record(_ a: Announcement) {
        lock.withLock {
            table[a.ruleID] = a
            // A daemon runs for months: the settled states of old rules make way, oldest first.
            if table.count > 1024 {
                for id in table.keys.sorted().prefix(256) where table[id]?.state != .announced { table[id] = nil }
            }
        }
        report(a)
    }
}
