import ControlPlane
import Dataplane
import Foundation
import Rules
import TestSupport
import Testing

/// `POST /api/rules/{id}/release|pin`: `holon rules release|pin` over HTTP.
@Suite("Control plane: release and pin", .offPool)
struct RuleChangeTests {
    func post(_ port: Int, _ path: String, _ headers: [String: String] = [:]) async throws -> RawHTTP.Answer {
        try await offPool { try RawHTTP.request(port: port, "POST", path, headers: headers) }
    }

    func object(_ body: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
    }

    @Test func releaseTakesTheRuleOut() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let r = try await post(port, "/api/rules/1000000001/release")
            #expect(r.status == 200)
            let o = object(r.body)
            #expect(o["id"] as? Int == 1_000_000_001 && o["action"] as? String == "release" && o["changed"] as? Bool == true)
            #expect(o["rule"] is NSNull && o["rules"] as? Int == 1)
            #expect(filter.filterRules.map(\.id) == [7])
            // Gone now: the same request is a 404.
            let again = try await post(port, "/api/rules/1000000001/release")
            #expect(again.status == 404 && errorText(again.body) == "no rule 1000000001 in the filter")
        }
    }

    /// A rule released while its attack is still dropped: its last drops reach the owner's
    /// total, though the filter forgets its counters with it.
    @Test func releasedDropsStayCounted() async throws {
        let (state, filter) = filled()
        let metrics = MetricsExporter()
        try await withControlServer(state: state, filter: filter, metrics: metrics) { port in
            filter.state.withLock { $0.counters[1_000_000_001] = RuleCounters(hits: 900_000, drops: 900_000) }
            let released = try await post(port, "/api/rules/1000000001/release")
            #expect(released.status == 200)
            #expect(filter.ruleCounters()[1_000_000_001] == nil)
            let text = metrics.render(filter: filter.filterStats(), sidecar: state.stats, rules: filter.filterRules, counters: filter.ruleCounters())
            #expect(text.contains(#"holon_owner_rule_drops_total{owner="sidecar"} 900000"#))
        }
    }

    @Test func pinTakesTheTTLAway() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let r = try await post(port, "/api/rules/1000000001/pin")
            #expect(r.status == 200)
            #expect(object(r.body)["changed"] as? Bool == true)
            #expect((object(r.body)["rule"] as? String).map { !$0.contains(":ttl") } == true)
            #expect(filter.filterRules.first { $0.id == 1_000_000_001 }?.ttlSeconds == nil)
            #expect(filter.filterRules.count == 2)
            let again = try await post(port, "/api/rules/1000000001/pin")
            #expect(again.status == 200 && object(again.body)["changed"] as? Bool == false)
            #expect(filter.state.withLock { $0.changes } == 1, "pinning a pinned rule writes nothing")
            // The rules API says so.
            let rules = try await offPool { try RawHTTP.request(port: port, "GET", "/api/rules") }
            let list = (try JSONSerialization.jsonObject(with: Data(rules.body.utf8))) as? [[String: Any]]
            #expect(list?.last?["pinned"] as? Bool == true)
            #expect(list?.last?["expires_in_s"] is NSNull)
        }
    }

    @Test func refusalsAreOneLineErrors() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let unknown = try await post(port, "/api/rules/42/pin")
            #expect(unknown.status == 404 && errorText(unknown.body) == "no rule 42 in the filter")
            let op = try await post(port, "/api/rules/7/release")
            #expect(op.status == 409)
            #expect(errorText(op.body) == "rule 7 is an operator's rule, not the live loop's (remove it with `holon rules del 7`)")
            for bad in ["abc", "-1", "4294967296", "1e9"] {
                let r = try await post(port, "/api/rules/\(bad)/release")
                #expect(r.status == 400, "\(bad)")
                #expect(errorText(r.body) == "rule id must be a number from 1 to 4294967295, got '\(bad)'")
            }
            filter.state.withLock { $0.stateProblem = "the state file does not match the filter (holon rules load --replace-all)" }
            let diverged = try await post(port, "/api/rules/1000000001/release")
            #expect(diverged.status == 409)
            #expect(errorText(diverged.body)?.hasPrefix("the table cannot be changed: the state file does not match") == true)
            #expect(filter.filterRules.count == 2, "nothing changed")
            #expect(filter.state.withLock { $0.changes } == 0)
        }
    }

    @Test func aTokenIsNeededWhenOneIsSet() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, access: ControlAccess(token: "s3cret", loopback: true)) { port in
            let none = try await post(port, "/api/rules/1000000001/pin")
            #expect(none.status == 401 && none.headers["www-authenticate"] == "Bearer")
            #expect(errorText(none.body)?.contains("Authorization: Bearer") == true)
            #expect(try await post(port, "/api/rules/1000000001/pin", ["Authorization": "Bearer wrong"]).status == 401)
            #expect(filter.state.withLock { $0.changes } == 0)
            #expect(try await post(port, "/api/rules/1000000001/pin", ["Authorization": "Bearer s3cret"]).status == 200)
            // Reading stays open.
            #expect(try await offPool { try RawHTTP.request(port: port, "GET", "/api/rules") }.status == 200)
        }
    }

    @Test func offLoopbackWithoutATokenChangesNothing() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, access: ControlAccess(token: nil, loopback: false)) { port in
            let r = try await post(port, "/api/rules/1000000001/release")
            #expect(r.status == 403 && errorText(r.body) == "changes over a non-loopback address need a token (holon run --http-token)")
            #expect(filter.filterRules.count == 2)
        }
    }

    /// The server decides from the address it listens on: on every address, no token, no change.
    @Test func listeningOnEveryAddressNeedsAToken() async throws {
        let (state, filter) = filled()
        try await withControlServer(host: "0.0.0.0", state: state, filter: filter) { port in
            let r = try await post(port, "/api/rules/1000000001/release")
            #expect(r.status == 403)
            #expect(filter.filterRules.count == 2)
        }
    }

    /// A page on another origin cannot make the operator's browser release a rule.
    @Test func crossOriginChangesAreRefused() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let evil = try await post(port, "/api/rules/1000000001/release", ["Origin": "http://evil.example"])
            #expect(evil.status == 403)
            let otherPort = try await post(port, "/api/rules/1000000001/release", ["Origin": "http://127.0.0.1:1"])
            #expect(otherPort.status == 403)
            #expect(filter.filterRules.count == 2)
            let same = try await post(port, "/api/rules/1000000001/release", ["Origin": "http://127.0.0.1:\(port)"])
            #expect(same.status == 200)
        }
    }

    @Test func accessPolicyPieces() {
        #expect(ControlAccess.isLoopback(host: "127.0.0.1") && ControlAccess.isLoopback(host: "::1") && ControlAccess.isLoopback(host: "localhost"))
        #expect(!ControlAccess.isLoopback(host: "0.0.0.0") && !ControlAccess.isLoopback(host: "192.0.2.1"))
        #expect(ControlAccess(token: "").token == nil, "an empty token is no token")
    }
}
