import ControlPlane
import Dataplane
import Foundation
import Rules
import TestSupport
import Testing

/// Issue 11 §5: the changes an operator makes over HTTP — rules, mode, allowlist — with the
/// token, body limits and one-line JSON errors.
@Suite("Control plane: operator changes", .offPool)
struct OperatorChangesTests {
    func send(_ port: Int, _ method: String, _ path: String, _ body: String? = nil, _ headers: [String: String] = [:]) async throws -> RawHTTP.Answer {
        try await offPool { try RawHTTP.request(port: port, method, path, headers: headers, body: body) }
    }

    func object(_ body: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
    }

    func ruleBody(_ rule: String, matchAll: Bool? = nil) -> String {
        var o: [String: Any] = ["rule": rule]
        if let matchAll { o["match_all"] = matchAll }
        return String(decoding: try! JSONSerialization.data(withJSONObject: o), as: UTF8.self)
    }

    @Test func addAnOperatorRule() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let r = try await send(port, "POST", "/api/rules", ruleBody("(rule (and (= proto udp) (= dst_port 53)) (rate-limit 5000) :id 9)"))
            #expect(r.status == 201, "\(r.body)")
            let o = object(r.body)
            #expect(o["id"] as? Int == 9 && o["rules"] as? Int == 3)
            #expect((o["rule"] as? String)?.contains("(rate-limit 5000)") == true)
            #expect(filter.filterRules.map(\.id) == [7, 1_000_000_001, 9])
            let again = try await send(port, "POST", "/api/rules", ruleBody("(rule (= proto tcp) (drop) :id 9)"))
            #expect(again.status == 409)
            #expect(errorText(again.body) == "rule 9 is in the filter already (DELETE /api/rules/9 first, or leave out :id to get a free one)")
            #expect(filter.state.withLock { $0.changes } == 1)
        }
    }

    /// The same checks as `holon rules add`: what would drop far more than meant, or take the
    /// live loop's ids, is refused before the table is touched.
    @Test func operatorRuleChecks() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let cases: [(String, String)] = [
                (ruleBody("(rule (= proto udp) (drop) :id 0)"), "rule: :id 0 is reserved; use an id from 1"),
                (ruleBody("(rule (= proto udp) (drop) :id 1000000005)"),
                 "rule: rule id 1000000005 is in the live loop's range (1000000000 and up); operators' rules use ids below it"),
                (ruleBody("(rule (and) (drop) :id 5)"), #"rule 5 has no predicates and matches every packet; add "match_all": true if that is meant"#),
                (ruleBody("(rule (= proto udp) (drop) :id 5)\n(rule (= proto tcp) (drop) :id 6)"), "rule: one rule per request, got 2"),
                (ruleBody(""), "rule: no rules given"),
                ("{\"rule\": ", "the body is not JSON; send JSON: " + #"{"rule": "(rule (and (= proto udp) (= dst_port 9)) (drop) :id 7)"}"#),
                ("{}", "'rule' is missing; send JSON: " + #"{"rule": "(rule (and (= proto udp) (= dst_port 9)) (drop) :id 7)"}"#),
                (#"{"rule": 5}"#, "'rule' must be a string; send JSON: " + #"{"rule": "(rule (and (= proto udp) (= dst_port 9)) (drop) :id 7)"}"#),
                ("", "the body is empty; send JSON: " + #"{"rule": "(rule (and (= proto udp) (= dst_port 9)) (drop) :id 7)"}"#),
            ]
            for (body, message) in cases {
                let r = try await send(port, "POST", "/api/rules", body)
                #expect(r.status == 400, "\(body)")
                #expect(errorText(r.body) == message, "\(body)")
            }
            let zeroRate = try await send(port, "POST", "/api/rules", ruleBody("(rule (= proto udp) (rate-limit 0) :id 5)"))
            #expect(zeroRate.status == 400 && errorText(zeroRate.body)?.hasPrefix("rule: line 1, column") == true, "\(zeroRate.body)")
            let typo = try await send(port, "POST", "/api/rules", ruleBody("(rule (= srcport 53) (drop) :id 5)"))
            #expect(typo.status == 400 && errorText(typo.body)?.contains("did you mean \"src_port\"") == true)
            #expect(filter.state.withLock { $0.changes } == 0, "nothing refused reached the table")
            let all = try await send(port, "POST", "/api/rules", ruleBody("(rule (and) (count) :id 5)", matchAll: true))
            #expect(all.status == 201)
        }
    }

    @Test func deleteAnOperatorRule() async throws {
        let (state, filter) = filled()
        let metrics = MetricsExporter()
        try await withControlServer(state: state, filter: filter, metrics: metrics) { port in
            let loop = try await send(port, "DELETE", "/api/rules/1000000001")
            #expect(loop.status == 409)
            #expect(errorText(loop.body) == "rule 1000000001 is the live loop's, not an operator's: take it out with POST /api/rules/1000000001/release")
            let r = try await send(port, "DELETE", "/api/rules/7")
            #expect(r.status == 200)
            let o = object(r.body)
            #expect(o["id"] as? Int == 7 && o["action"] as? String == "delete" && o["changed"] as? Bool == true && o["rules"] as? Int == 1)
            #expect(filter.filterRules.map(\.id) == [1_000_000_001])
            let text = metrics.render(filter: filter.filterStats(), sidecar: state.stats, rules: filter.filterRules, counters: filter.ruleCounters())
            #expect(text.contains(#"holon_owner_rule_drops_total{owner="operator"} 10"#), "its drops stay counted")
            let gone = try await send(port, "DELETE", "/api/rules/7")
            #expect(gone.status == 404 && errorText(gone.body) == "no rule 7 in the filter")
            let bad = try await send(port, "DELETE", "/api/rules/seven")
            #expect(bad.status == 400 && errorText(bad.body) == "rule id must be a number from 1 to 4294967295, got 'seven'")
        }
    }

    @Test func switchObserveAndEnforce() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            #expect(object(try await send(port, "GET", "/api/mode").body)["observe"] as? Bool == false)
            let on = try await send(port, "PUT", "/api/mode", #"{"observe": true}"#)
            #expect(on.status == 200)
            #expect(object(on.body)["observe"] as? Bool == true && object(on.body)["changed"] as? Bool == true)
            #expect(filter.observing() == true)
            let same = try await send(port, "PUT", "/api/mode", #"{"observe": true}"#)
            #expect(object(same.body)["changed"] as? Bool == false)
            let wrong = try await send(port, "PUT", "/api/mode", #"{"observe": "yes"}"#)
            #expect(wrong.status == 400 && errorText(wrong.body) == #"'observe' must be true or false; send JSON: {"observe": true}"#)
            #expect(try await send(port, "PUT", "/api/mode", #"{"observe": false}"#).status == 200)
            #expect(object(try await send(port, "GET", "/api/mode").body)["observe"] as? Bool == false)
        }
    }

    @Test func replaceTheAllowlist() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            #expect(object(try await send(port, "GET", "/api/allowlist").body)["prefixes"] as? [String] == [])
            let r = try await send(port, "PUT", "/api/allowlist", #"{"prefixes": ["192.0.2.53", "2001:db8::/32", "10.0.0.0/8", "192.0.2.53/32"]}"#)
            #expect(r.status == 200, "\(r.body)")
            #expect(object(r.body)["prefixes"] as? [String] == ["192.0.2.53/32", "2001:db8::/32", "10.0.0.0/8"], "normalised, repeats once")
            #expect(object(r.body)["changed"] as? Bool == true)
            #expect(filter.allowlist()?.map(\.description) == ["192.0.2.53/32", "2001:db8::/32", "10.0.0.0/8"])
            let get = try await send(port, "GET", "/api/allowlist")
            #expect(object(get.body)["prefixes"] as? [String] == ["192.0.2.53/32", "2001:db8::/32", "10.0.0.0/8"])
            let bad = try await send(port, "PUT", "/api/allowlist", #"{"prefixes": ["10.0.0.0/8", "10.0.0.300/8"]}"#)
            #expect(bad.status == 400)
            #expect(errorText(bad.body) == "prefixes[1]: '10.0.0.300/8' is not an address or prefix (192.0.2.0/24, 2001:db8::/32)")
            #expect(filter.allowlist()?.count == 3, "a refused list changes nothing")
            let empty = try await send(port, "PUT", "/api/allowlist", #"{"prefixes": []}"#)
            #expect(empty.status == 200 && filter.allowlist() == [])
        }
    }

    /// Every change needs the token when one is set (401 without it or with another); reading
    /// the mode and the allowlist stays open.
    @Test func everyChangeNeedsTheToken() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, access: ControlAccess(token: "s3cret", loopback: true)) { port in
            let changes: [(String, String, String?)] = [
                ("POST", "/api/rules", ruleBody("(rule (= proto udp) (drop) :id 9)")), ("DELETE", "/api/rules/7", nil),
                ("PUT", "/api/mode", #"{"observe": true}"#), ("PUT", "/api/allowlist", #"{"prefixes": ["10.0.0.0/8"]}"#),
            ]
            for (method, path, body) in changes {
                for headers in [[:], ["Authorization": "Bearer wrong"], ["Authorization": "s3cret"]] {
                    let r = try await send(port, method, path, body, headers)
                    #expect(r.status == 401 && r.headers["www-authenticate"] == "Bearer", "\(method) \(path) \(headers)")
                    #expect(errorText(r.body)?.contains("Authorization: Bearer") == true)
                }
            }
            #expect(filter.state.withLock { ($0.changes, $0.observe, $0.allowlist.count) } == (0, false, 0))
            #expect(try await send(port, "GET", "/api/mode").status == 200)
            #expect(try await send(port, "GET", "/api/allowlist").status == 200)
            for (method, path, body) in changes {
                let r = try await send(port, method, path, body, ["Authorization": "Bearer s3cret"])
                #expect(r.status / 100 == 2, "\(method) \(path): \(r.body)")
            }
        }
    }

    /// A body over the limit is a 413, whether its length is declared or it streams in chunks;
    /// the server goes on answering.
    @Test func oversizedBodiesAre413() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let declared = try await offPool { () throws -> RawHTTP.Answer in
                // Only the head: the server refuses on the declared length, without the body.
                let fd = try RawHTTP.connect(port: port)
                defer { close(fd) }
                RawHTTP.send(fd, "POST /api/rules HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: 10000000\r\n\r\n")
                guard let data = RawHTTP.readUntil(fd, "}", timeout: 5) else { throw RawHTTP.Failure(description: "no answer") }
                return try RawHTTP.parse(data)
            }
            #expect(declared.status == 413)
            #expect(errorText(declared.body) == "the body is larger than 65536 bytes, the most a change takes")
            let big = String(repeating: "x", count: 70_000)
            let chunked = "\(String(big.utf8.count, radix: 16))\r\n\(big)\r\n0\r\n\r\n"
            let streamed = try await send(port, "PUT", "/api/allowlist", chunked, ["Transfer-Encoding": "chunked"])
            #expect(streamed.status == 413)
            #expect(errorText(streamed.body) == "the body is larger than 65536 bytes, the most a change takes")
            #expect(try await send(port, "GET", "/api/status").status == 200)
            #expect(filter.state.withLock { $0.changes } == 0)
        }
    }

    /// Every error the API answers is one line of JSON, the framework's own too.
    @Test func errorsAreOneLineJSON() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let missing = try await send(port, "GET", "/nope")
            #expect(missing.status == 404 && missing.headers["content-type"] == "application/json")
            #expect(errorText(missing.body) == "no such path: /nope")
            let deep = try await send(port, "DELETE", "/api/rules/1/2")
            #expect(deep.status == 404 && errorText(deep.body) == "no such path: /api/rules/1/2")
            let wrong = try await send(port, "GET", "/api/rules/7")
            #expect(wrong.status == 405 && wrong.headers["allow"] == "DELETE")
        }
    }
}
