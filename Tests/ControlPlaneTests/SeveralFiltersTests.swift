import ControlPlane
import Dataplane
import Foundation
import Rules
import Sidecar
import TestSupport
import Testing

/// `holon run` over two interfaces: the API and `/metrics` show both filters, and a change goes
/// to the filter holding the rule, to the one named, or to both. The control plane showed the
/// first interface's filter alone: a rule the second interface's loop installed was missing
/// from the dashboard and `/metrics`, and releasing it said "no rule … in the filter".
@Suite("Control plane: several filters", .offPool)
struct SeveralFiltersTests {
    func send(_ port: Int, _ method: String, _ path: String, _ body: String? = nil) async throws -> RawHTTP.Answer {
        try await offPool { try RawHTTP.request(port: port, method, path, body: body) }
    }

    func json(_ body: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }

    /// eth0 holds the operator's rule 7 and the loop's 1000000001; eth1 rule 7 and 1000000002.
    func two() -> (ControlState, FakeFilter, FakeFilter, FilterGroup) {
        let state = ControlState(primarySource: "eth0")
        let a = FakeFilter(), b = FakeFilter()
        var second = sidecarRule
        second.id = 1_000_000_002
        a.state.withLock {
            $0.rules = [operatorRule, sidecarRule]
            $0.stats.packets = 1_000
            $0.stats.dropped = 100
            $0.counters = [1_000_000_001: RuleCounters(hits: 100, drops: 100)]
        }
        b.state.withLock {
            $0.rules = [operatorRule, second]
            $0.stats.packets = 5_000
            $0.stats.dropped = 4_000
            $0.counters = [1_000_000_002: RuleCounters(hits: 4_000, drops: 4_000)]
        }
        state.record(.installed(incident: 3, [second], nanoseconds: 1), source: "eth1")
        return (state, a, b, FilterGroup(named: [(name: "eth0", source: a), (name: "eth1", source: b)]))
    }

    @Test func readsCoverEveryInterface() async throws {
        let (state, _, _, filters) = two()
        try await withControlServer(state: state, filters: filters) { port in
            let rules = try #require(json(try await send(port, "GET", "/api/rules").body) as? [[String: Any]])
            #expect(rules.map { "\($0["interface"] as? String ?? "-") \($0["id"] as? Int ?? 0)" }
                    == ["eth0 7", "eth0 1000000001", "eth1 7", "eth1 1000000002"])
            #expect(rules[3]["drops"] as? Int == 4_000)
            #expect(rules[3]["incident"] as? Int == 3, "the incident of the loop that installed it")

            let status = try #require(json(try await send(port, "GET", "/api/status").body) as? [String: Any])
            #expect((status["filter"] as? [String: Any])?["dropped"] as? Int == 4_100, "both filters' counters, added up")
            #expect(status["rules"] as? Int == 4)
            let each = try #require(status["interfaces"] as? [[String: Any]])
            #expect(each.map { $0["interface"] as? String } == ["eth0", "eth1"])
            #expect(each.map { ($0["filter"] as? [String: Any])?["packets"] as? Int } == [1_000, 5_000])

            let metrics = try await send(port, "GET", "/metrics").body
            #expect(metrics.contains(#"holon_filter_dropped_total{interface="eth1"} 4000"#), "\(metrics)")
            #expect(metrics.contains(#"holon_filter_dropped_total{interface="eth0"} 100"#))
            #expect(metrics.contains(#"holon_rule_drops_total{id="1000000002",interface="eth1",owner="sidecar"} 4000"#))
            #expect(metrics.contains(#"holon_filter_rules{interface="eth1"} 2"#))
            #expect(metrics.contains(#"holon_owner_rule_drops_total{owner="sidecar"} 4100"#), "owners' totals over both")

            let impact = try #require(json(try await send(port, "GET", "/api/impact").body) as? [String: Any])
            #expect((impact["drops_by_destination"] as? [[String: Any]])?.first?["drops"] as? Int == 4_100)
        }
    }

    /// A rule posted without `:id` was given id 1 in every table (a second one was refused):
    /// it gets the next id free in every filter it goes to, so one DELETE takes it out of each.
    @Test func aRuleWithoutAnIdGetsOneFreeInEveryFilter() async throws {
        let (state, a, b, filters) = two()
        try await withControlServer(state: state, filters: filters) { port in
            let both = try await send(port, "POST", "/api/rules", #"{"rule": "(rule (= dst_port 19) (drop))"}"#)
            #expect(both.status == 201 && (json(both.body) as? [String: Any])?["id"] as? Int == 8, "\(both.body)")
            let one = try await send(port, "POST", "/api/rules", #"{"rule": "(rule (= dst_port 20) (drop))", "interface": "eth1"}"#)
            #expect((json(one.body) as? [String: Any])?["id"] as? Int == 9, "\(one.body)")
            let again = try await send(port, "POST", "/api/rules", #"{"rule": "(rule (= dst_port 21) (drop))"}"#)
            #expect((json(again.body) as? [String: Any])?["id"] as? Int == 10, "\(again.body)")
            #expect(a.filterRules.map(\.id) == [7, 1_000_000_001, 8, 10] && b.filterRules.map(\.id) == [7, 1_000_000_002, 8, 9, 10])
            let taken = try await send(port, "POST", "/api/rules", #"{"rule": "(rule (= dst_port 22) (drop) :id 9)"}"#)
            #expect(taken.status == 409 && taken.body.contains("leave out :id to get a free one"), "\(taken.body)")
        }
    }

    @Test func aChangeGoesWhereTheRuleIsOrWhereItIsSent() async throws {
        let (state, a, b, filters) = two()
        try await withControlServer(state: state, filters: filters) { port in
            // The loop's rule on the second interface, released by its id alone.
            let released = try await send(port, "POST", "/api/rules/1000000002/release")
            #expect(released.status == 200, "\(released.body)")
            #expect((json(released.body) as? [String: Any])?["interface"] as? String == "eth1")
            #expect(b.filterRules.map(\.id) == [7] && a.filterRules.map(\.id) == [7, 1_000_000_001])

            // An operator's rule goes to every filter, or to the one named.
            let both = try await send(port, "POST", "/api/rules", #"{"rule": "(rule (= dst_port 19) (drop) :id 19)"}"#)
            #expect(both.status == 201, "\(both.body)")
            #expect((json(both.body) as? [String: Any])?["interfaces"] as? [String] == ["eth0", "eth1"])
            let one = try await send(port, "POST", "/api/rules", #"{"rule": "(rule (= dst_port 17) (drop) :id 17)", "interface": "eth1"}"#)
            #expect(one.status == 201, "\(one.body)")
            #expect(a.filterRules.map(\.id) == [7, 1_000_000_001, 19] && b.filterRules.map(\.id) == [7, 19, 17])
            let nowhere = try await send(port, "POST", "/api/rules", #"{"rule": "(rule (= dst_port 18) (drop) :id 18)", "interface": "eth9"}"#)
            #expect(nowhere.status == 404 && nowhere.body.contains("no interface 'eth9' in this run (eth0, eth1)"), "\(nowhere.body)")

            // Deleted from every filter holding it, or from the one named.
            #expect(try await send(port, "DELETE", "/api/rules/7?interface=eth0").status == 200)
            #expect(a.filterRules.map(\.id) == [1_000_000_001, 19] && b.filterRules.contains { $0.id == 7 })
            let gone = try await send(port, "DELETE", "/api/rules/19")
            #expect((json(gone.body) as? [String: Any])?["interfaces"] as? [String] == ["eth0", "eth1"])
            #expect(!a.filterRules.contains { $0.id == 19 } && !b.filterRules.contains { $0.id == 19 })

            // An id in both (numbered per interface by an earlier version): which one is asked.
            var twin = sidecarRule
            twin.ttlSeconds = 60
            b.state.withLock { $0.rules.append(twin) }
            let which = try await send(port, "POST", "/api/rules/1000000001/pin")
            #expect(which.status == 409 && which.body.contains("rule 1000000001 is in eth0 and eth1: say which with ?interface=NAME"), "\(which.body)")
            #expect(try await send(port, "POST", "/api/rules/1000000001/pin?interface=eth1").status == 200)
            #expect(b.filterRules.first { $0.id == 1_000_000_001 }?.ttlSeconds == nil && a.filterRules.first { $0.id == 1_000_000_001 }?.ttlSeconds == 60)

            // Mode and allowlist: every filter.
            #expect(try await send(port, "PUT", "/api/mode", #"{"observe": true}"#).status == 200)
            #expect(a.observing() == true && b.observing() == true)
            #expect(try await send(port, "PUT", "/api/allowlist", #"{"prefixes": ["192.0.2.0/24"]}"#).status == 200)
            #expect(a.allowlist()?.map(\.description) == ["192.0.2.0/24"] && b.allowlist()?.map(\.description) == ["192.0.2.0/24"])
        }
    }

    /// The dashboard's rule table names each rule's interface, and its buttons change that filter.
    @Test(.timeLimit(.minutes(1))) func theDashboardNamesTheInterface() async throws {
        let (state, _, _, filters) = two()
        try await withControlServer(state: state, filters: filters) { port in
            let dom = try await offPool { try HeadlessBrowser.dom("http://127.0.0.1:\(port)/") }
            #expect(dom.contains("<td>eth1 1000000002</td>"), "\(dom)")
            #expect(dom.contains(#"<button data-id="1000000002" data-if="eth1" data-do="release">release</button>"#))
            #expect(dom.contains(#"id="rules">0 / 4"#), "every filter's rules counted")
        }
    }

    /// A rule another process added since this one last read the table (its `rules` are the
    /// table it last installed or read): found by reading the filter's state, not a 404.
    @Test func aRuleAddedElsewhereIsFound() async throws {
        final class Stale: FilterSource, @unchecked Sendable {
            let real = FakeFilter()
            var seen: [Rule] = []
            func filterStats() -> DataplaneStats? { real.filterStats() }
            var filterRules: [Rule] { seen }
            func ruleCounters() -> [UInt32: RuleCounters] { real.ruleCounters() }
            func verifiedTable() throws -> [Rule] { try real.verifiedTable() }
            func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws {
                try real.changeTable(change)
                seen = real.filterRules
            }
        }
        let stale = Stale()
        stale.real.state.withLock { $0.rules = [operatorRule] }
        try await withControlServer(state: ControlState(), filters: FilterGroup(stale)) { port in
            let r = try await send(port, "DELETE", "/api/rules/7")
            #expect(r.status == 200, "\(r.body)")
            #expect(stale.real.filterRules.isEmpty)
        }
    }
}
