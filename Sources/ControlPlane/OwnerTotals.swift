import Dataplane
import Rules

/// Hits and drops per owner of rules (operator, sidecar) that never go down. The filter forgets
/// a rule's counters when the rule leaves the table (or changes action), so the totals keep
/// what each rule had reached when it was last seen, and add it to a retired sum when it goes.
struct OwnerTotals: Sendable {
    static let owners = ["operator", "sidecar"]

    /// Who owns the rule of `id`: the live loop's ids start at `sidecarBase`.
    static func owner(of id: UInt32, sidecarBase: UInt32) -> String { id >= sidecarBase ? "sidecar" : "operator" }

    private struct Seen: Sendable { var owner: String; var counts: RuleCounters }
    private var live: [UInt32: Seen] = [:]
    private var retired: [String: RuleCounters] = [:]

    /// `counters`: the filter's, which has them for the rules that matched at least once and
    /// forgets a rule's when it leaves: what it no longer has, it had last time, retired. Only
    /// those are looked at (once a second), never the whole table (a blocklist of a million).
    mutating func observe(counters: [UInt32: RuleCounters], sidecarBase: UInt32) {
        for (id, seen) in live where counters[id] == nil {
            retire(seen)
            live[id] = nil
        }
        for (id, now) in counters {
            let owner = Self.owner(of: id, sidecarBase: sidecarBase)
            // Counters that went back are a new life of the id (action changed, or removed and
            // installed again between two looks): the old life is retired.
            if let old = live[id], now.hits < old.counts.hits || now.drops < old.counts.drops || old.owner != owner {
                retire(old)
            }
            live[id] = Seen(owner: owner, counts: now)
        }
    }

    private mutating func retire(_ s: Seen) {
        retired[s.owner, default: RuleCounters()] += s.counts
    }

    func total(_ owner: String) -> RuleCounters {
        var t = retired[owner] ?? RuleCounters()
        for s in live.values where s.owner == owner { t += s.counts }
        return t
    }
}

extension RuleCounters {
    static func += (a: inout RuleCounters, b: RuleCounters) {
        a.hits &+= b.hits
        a.drops &+= b.drops
    }
}
