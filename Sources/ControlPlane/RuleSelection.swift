import Dataplane
import Rules

/// Which rules a view of bounded size shows when a table is larger than it (a blocklist of a
/// million prefixes): the live loop's own first (an incident's rules are what an operator
/// watches), then those that dropped most, then matched most, then the rest in table order.
/// Within the limit, every rule. The picked rules keep their table order.
///
/// Built per request and per scrape: one pass over the table and a sort of the rules that ever
/// matched, never a sort of the whole table (the dashboard asks every second).
struct RuleSelection {
    /// The rules picked, in table order, each with its reading's index.
    private(set) var picked: [(reading: Int, rule: Rule)] = []
    /// Rules of the readings left out.
    private(set) var omitted = 0

    /// `keep`: a rule shown before (a series already exported), kept while it can be: a kept
    /// rule that matched ranks before one that starts to, a kept one that never matched after
    /// both (and before the rest).
    init(_ readings: [MetricsExporter.Reading], limit: Int, sidecarBase: UInt32, keep: (Int, Rule) -> Bool = { _, _ in false }) {
        let total = readings.reduce(0) { $0 + $1.rules.count }
        guard total > limit else {
            picked = readings.enumerated().flatMap { i, f in f.rules.map { (i, $0) } }
            return
        }
        // Only rules worth ranking are ranked; the rest fill what is left in table order.
        struct Notable { var reading: Int; var position: Int; var rank: (Int, UInt64, UInt64) }
        var notable: [Notable] = []
        for (i, f) in readings.enumerated() {
            for (p, r) in f.rules.enumerated() {
                let loop = r.id >= sidecarBase, kept = keep(i, r)
                let c = f.counters[r.id]
                guard loop || kept || c != nil else { continue }
                // A rule that matched keeps its place before one that starts to; one that never
                // matched gives its place up to either.
                let kind = loop ? 0 : c == nil ? 3 : kept ? 1 : 2
                notable.append(Notable(reading: i, position: p, rank: (kind, c?.drops ?? 0, c?.hits ?? 0)))
            }
        }
        notable.sort { a, b in
            if a.rank.0 != b.rank.0 { return a.rank.0 < b.rank.0 }
            if a.rank.1 != b.rank.1 { return a.rank.1 > b.rank.1 }
            if a.rank.2 != b.rank.2 { return a.rank.2 > b.rank.2 }
            return (a.reading, a.position) < (b.reading, b.position)
        }
        var chosen = readings.map { _ in Set<Int>() }
        for n in notable.prefix(limit) { chosen[n.reading].insert(n.position) }
        var room = limit - min(limit, notable.count)
        fill: for (i, f) in readings.enumerated() {
            for p in f.rules.indices {
                if room == 0 { break fill }
                if chosen[i].insert(p).inserted { room -= 1 }
            }
        }
        for (i, f) in readings.enumerated() {
            for p in chosen[i].sorted() { picked.append((i, f.rules[p])) }
        }
        omitted = total - picked.count
    }
}
