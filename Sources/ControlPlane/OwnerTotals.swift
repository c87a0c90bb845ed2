import Dataplane
import Rules

/// Hits and drops per owner of rules (operator, sidecar) that never go down. The filter forgets
/// a rule's counters when the rule leaves the table (or changes action), so the totals keep
/// what each rule had reached when it was last seen, and add it to a retired sum when it goes.
struct OwnerTotals: Sendable {
    static let owners = ["operator", "sidecar"]

    private struct Seen: Sendable { var owner: String; var counts: RuleCounters }
    private var live: [UInt32: Seen] = [:]
    private var retired: [String: RuleCounters] = [:]

    mutating func observe(rules: [Rule], counters: [UInt32: RuleCounters], sidecarBase: UInt32) {
        let ids = Set(rules.map(\.id))
        for (id, seen) in live where !ids.contains(id) {
            retire(seen)
            live[id] = nil
        }
        for r in rules {
            let owner = r.id >= sidecarBase ? "sidecar" : "operator"
            let now = counters[r.id] ?? RuleCounters()
            // Counters that went back are a new life of the id (action changed, or removed and
            // installed again between two looks): the old life is retired.
            if let old = live[r.id], now.hits < old.counts.hits || now.drops < old.counts.drops || old.owner != owner {
                retire(old)
            }
            live[r.id] = Seen(owner: owner, counts: now)
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
