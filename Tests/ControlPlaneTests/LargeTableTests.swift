@testable import ControlPlane
import Dataplane
import Foundation
import Packets
import Rules
import Sidecar
import TestSupport
import Testing

/// A blocklist of a million rules made every read of the API pay for each rule: `/metrics`
/// exported two series per rule (its first scrape did not end in two minutes, and Prometheus
/// would have had two million series), the dashboard's snapshot listed every rule every second
/// (17 s and 332 MB an answer), and the per-owner totals went over the whole table once a
/// second. Here the same with a few thousand rules, which the limits make as cheap as 200.
@Suite("Control plane: large tables", .offPool)
struct LargeTableTests {
    static let size = 5_000

    /// `sidecarRule`, then `size` operator rules of one source each (ids 100 and up); the
    /// sidecar's dropped 10, operator rule `i` dropped `i` when `dropping` says so.
    func blocklisted(dropping: (Int) -> Bool = { _ in false }) -> (ControlState, FakeFilter) {
        let (state, filter) = filled()
        let list = (0..<Self.size).map { i in
            Rule(id: UInt32(100 + i), match: [.prefix(.srcIP, .v4(0x1400_0000 &+ UInt32(i) << 8), length: 24)], action: .drop, priority: 50)
        }
        filter.state.withLock {
            $0.rules = [sidecarRule] + list
            $0.counters = [sidecarRule.id: RuleCounters(hits: 10, drops: 10)]
            for i in 0..<Self.size where dropping(i) { $0.counters[UInt32(100 + i)] = RuleCounters(hits: UInt64(i), drops: UInt64(i)) }
        }
        return (state, filter)
    }

    func ruleSeries(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").filter { $0.hasPrefix("holon_rule_drops_total{") }.map { String($0.split(separator: "\"")[1]) })
    }

    @Test func metricsExportSeriesForTheLoopsRulesAndTheBusiestUpToALimit() throws {
        // Ten operator rules dropped, the last ten of the list.
        let (state, filter) = blocklisted { $0 >= Self.size - 10 }
        let metrics = MetricsExporter()
        func scrape() -> String {
            metrics.render(filter: filter.filterStats(), sidecar: state.stats, rules: filter.filterRules, counters: filter.ruleCounters())
        }
        var text = scrape()
        var ids = ruleSeries(text)
        #expect(ids.count == MetricsExporter.ruleSeriesLimit)
        #expect(ids.contains("1000000001"), "the loop's rule")
        #expect(ids.contains("\(100 + Self.size - 1)") && ids.contains("\(100 + Self.size - 10)"), "the operator rules that dropped")
        #expect(text.contains("holon_filter_rules_without_series \(Self.size + 1 - MetricsExporter.ruleSeriesLimit)"))
        #expect(text.contains(#"holon_owner_rule_drops_total{owner="operator"} \#((Self.size - 10..<Self.size).reduce(0, +))"#),
                "the owner's total counts every rule, with a series or not")

        // The next scrape keeps the same series (a series that comes and goes breaks rate()),
        // and a rule that starts dropping takes the place of one that never did.
        text = scrape()
        #expect(ruleSeries(text) == ids)
        filter.state.withLock { $0.counters[2_000] = RuleCounters(hits: 1, drops: 1) }
        text = scrape()
        let next = ruleSeries(text)
        #expect(next.count == MetricsExporter.ruleSeriesLimit && next.contains("2000"))
        #expect(ids.subtracting(next).count == 1)
        ids = next

        // A table within the limit exports every rule, as before.
        filter.state.withLock { $0.rules = Array($0.rules.prefix(50)) }
        text = scrape()
        #expect(ruleSeries(text).count == 50)
        #expect(text.contains("holon_filter_rules_without_series 0"))
    }

    @Test func theSnapshotListsTheLoopsRulesAndTheBusiestUpToTheDashboardsLimit() throws {
        let (state, filter) = blocklisted { $0 == 4_321 }
        let snap = try ControlServer.snapshot(state: state, filters: FilterGroup(filter), metrics: MetricsExporter())
        #expect(snap.rules.count == Dashboard.ruleLimit)
        #expect(snap.rules_omitted == Self.size + 1 - Dashboard.ruleLimit)
        #expect(snap.status.rules == Self.size + 1, "the count is the whole table's")
        #expect(snap.rules.first?.id == sidecarRule.id, "the loop's rule, in table order")
        #expect(snap.rules.contains { $0.id == 4_421 && $0.drops == 4_321 }, "the operator rule that dropped")
        let picked = Set(snap.rules.map(\.id))
        #expect(snap.rules.map(\.id) == filter.filterRules.map(\.id).filter(picked.contains), "the picked rules keep their table order")
        // /api/rules has them all.
        #expect(ControlServer.rules(state: state, readings: ControlServer.readings(FilterGroup(filter)), metrics: MetricsExporter()).views.count
                == Self.size + 1)
    }

    @Test func impactListsADestinationsBusiestRules() throws {
        let (state, filter) = blocklisted { _ in true }
        let impact = ControlServer.impact(state: state, readings: ControlServer.readings(FilterGroup(filter)))
        let any = try #require(impact.drops_by_destination.first { $0.destination == "any" })
        #expect(any.rule_count == Self.size, "every rule that dropped: the loop's and the operator's (but rule 100, which dropped 0)")
        #expect(any.rules.count == Impact.rulesListed)
        #expect(any.rules.first == UInt32(100 + Self.size - 1), "the one that dropped most first")
        #expect(any.drops == UInt64((0..<Self.size).reduce(0, +) + 10))
    }

    static func get(_ port: Int, _ path: String) async throws -> (status: Int, rules: [[String: Any]], error: String?) {
        let r = try await offPool { try RawHTTP.request(port: port, "GET", path) }
        let body = try JSONSerialization.jsonObject(with: Data(r.body.utf8))
        return (r.status, body as? [[String: Any]] ?? [], (body as? [String: Any])?["error"] as? String)
    }

    /// `GET /api/rules` pages: one owner's rules, a slice of the table; the whole table still
    /// comes whole (written a thousand rules at a time).
    @Test func theRulesComeInPages() async throws {
        let (state, filter) = blocklisted { $0 == 7 }
        try await withControlServer(state: state, filter: filter) { port in
            let loop = try await Self.get(port, "/api/rules?owner=sidecar")
            #expect(loop.rules.map { $0["id"] as? Int } == [Int(sidecarRule.id)])
            let page = try await Self.get(port, "/api/rules?owner=operator&offset=5&limit=3")
            #expect(page.rules.map { $0["id"] as? Int } == [105, 106, 107])
            #expect(page.rules.last?["drops"] as? Int == 7)
            let last = try await Self.get(port, "/api/rules?offset=\(Self.size - 1)&limit=10")
            #expect(last.rules.count == 2, "a short page is the last")
            let all = try await Self.get(port, "/api/rules")
            #expect(all.rules.count == Self.size + 1)
            #expect(Set(all.rules.compactMap { $0["id"] as? Int }).count == Self.size + 1)
            for (query, message) in [("limit=0", "limit must be a whole number from 1 to 100000, got '0'"),
                                     ("offset=-1", "offset must be a whole number from 0, got '-1'"),
                                     ("owner=me", "owner must be operator or sidecar, got 'me'")] {
                let refused = try await Self.get(port, "/api/rules?" + query)
                #expect(refused.status == 400 && refused.error == message)
            }
        }
    }
}
