@testable import ControlPlane
import Dataplane
@testable import Detection
import Foundation
import Packets
import Rules
import Sidecar
import TestSupport
import Testing

/// What the API says about each rule (age, TTL left, incident) and about legitimate traffic.
@Suite("Control plane: rules and impact", .offPool)
struct RulesAndImpactTests {
    func rules(_ port: Int) async throws -> [[String: Any]] {
        let r = try await offPool { try RawHTTP.request(port: port, "GET", "/api/rules") }
        return (try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [[String: Any]]) ?? []
    }

    @Test func rulesShowAgeExpiryAndIncident() async throws {
        let (state, filter) = filled()
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        var fresh = sidecarRule
        fresh.createdAt = now - 30_000_000_000   // 30 s ago, TTL 60 s
        // A rule of an earlier run: no `installed` event of this run names its incident.
        let adopted = Rule(id: 1_000_000_005, match: [.equals(.proto, 17)], action: .drop, priority: 100, ttlSeconds: 300,
                           name: "holon-incident-9", createdAt: now - 100_000_000_000)
        filter.state.withLock { $0.rules = [operatorRule, fresh, adopted] }
        try await withControlServer(state: state, filter: filter) { port in
            let list = try await rules(port)
            #expect(list.count == 3)
            let op = list[0], mine = list[1], old = list[2]
            #expect(op["owner"] as? String == "operator" && op["age_s"] is NSNull && op["expires_in_s"] is NSNull && op["incident"] is NSNull)
            #expect(op["pinned"] as? Bool == false)
            #expect((mine["age_s"] as? Double).map { (29...35).contains($0) } == true)
            #expect((mine["expires_in_s"] as? Double).map { (25...31).contains($0) } == true)
            #expect(mine["incident"] as? Int == 1, "from the installed event")
            #expect(old["incident"] as? Int == 9, "from the rule's name")
            #expect((old["expires_in_s"] as? Double).map { (195...201).contains($0) } == true)
        }
    }

    @Test func anExpiredRuleHasNoTimeLeftNotANegativeOne() {
        let v = RuleView(sidecarRule, counters: nil, sidecarBase: RuleOwnership.sidecarBase, incident: nil, nowNs: 1_000_000_000_000)
        #expect(v.expires_in_s == 0 && v.incident == 1)
        #expect(IncidentRuleName.incident(of: "holon-incident-x") == nil && IncidentRuleName.incident(of: "mine") == nil)
    }

    @Test func impactGroupsDropsByDestination() throws {
        let (state, filter) = filled()
        let web = Rule(id: 1_000_000_002, match: [.equals(.dstIP, 0xC633_640A), .equals(.proto, 6)], action: .drop)   // 198.51.100.10
        let net = Rule(id: 1_000_000_003, match: [.prefix(.dstIP, try #require(IPAddress("198.51.100.0")), length: 24)], action: .drop)
        let web2 = Rule(id: 1_000_000_004, match: [.equals(.dstIP, 0xC633_640A), .equals(.proto, 17)], action: .drop)
        filter.state.withLock {
            $0.rules += [web, net, web2]
            $0.counters[web.id] = RuleCounters(hits: 500, drops: 500)
            $0.counters[net.id] = RuleCounters(hits: 20, drops: 20)
            $0.counters[web2.id] = RuleCounters(hits: 50, drops: 50)
        }
        var fp = Incident(id: 2, openedAt: 1, drift: 0.3, dimension: 64)
        state.record(.opened(fp))
        fp.closedAt = 2
        fp.falsePositive = "81 % of its dropped samples came from sources the baseline saw"
        fp.matchedSamples = 100
        fp.knownSourceSamples = 81
        state.record(.closed(fp))
        let impact = ControlServer.impact(state: state, readings: ControlServer.readings(FilterGroup(filter)))
        #expect(impact.dropped_share == 0.8)
        #expect(impact.drops_by_destination.map(\.destination) == ["any", "198.51.100.10", "198.51.100.0/24"])
        #expect(impact.drops_by_destination.map(\.drops) == [800_000, 550, 20])
        #expect(impact.drops_by_destination[1].rules == [1_000_000_002, 1_000_000_004])
        #expect(impact.false_positive_incidents == [.init(incident: 2, reason: "81 % of its dropped samples came from sources the baseline saw")])
        #expect(impact.known_source_shares == [.init(incident: 2, share: 0.81)], "what the rules cost real users, from the samples")
        #expect(state.incidents.first { $0.id == 2 }?.false_positive != nil)
    }

    /// `/` carries the state: rules and numbers without a request of the page's own, and text
    /// from a rule cannot end the script element it sits in.
    @Test func thePageCarriesTheState() async throws {
        let (state, filter) = filled()
        var hostile = sidecarRule
        hostile.id = 1_000_000_009
        hostile.explanation = "</script><script>alert(1)</script>"
        filter.state.withLock { $0.rules.append(hostile) }
        try await withControlServer(state: state, filter: filter) { port in
            let page = try await offPool { try RawHTTP.request(port: port, "GET", "/") }
            #expect(page.status == 200)
            let start = try #require(page.body.range(of: #"<script id="snapshot" type="application/json">"#))
            let end = try #require(page.body[start.upperBound...].range(of: "</script>"))
            let json = page.body[start.upperBound..<end.lowerBound]
            let snap = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(Set(snap.keys) == ["status", "rules", "rules_omitted", "incidents", "history", "impact", "events"])
            #expect((snap["rules"] as? [[String: Any]])?.last?["explanation"] as? String == "</script><script>alert(1)</script>")
            #expect(!page.body.contains("<script>alert(1)"))
            #expect((snap["events"] as? [String])?.count == 5)
        }
    }

    /// What the dashboard polls: its chart's window, without the events it streams.
    @Test func snapshotParameters() async throws {
        let (state, filter) = filled()
        var s = SidecarStats()
        s.filterPps = 10
        for i in 0..<10 { state.record(.heartbeat(s), at: Date().addingTimeInterval(Double(-60 * i))) }
        try await withControlServer(state: state, filter: filter) { port in
            func snap(_ q: String) async throws -> (Int, [String: Any]) {
                let r = try await offPool { try RawHTTP.request(port: port, "GET", "/api/snapshot\(q)") }
                return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]) ?? [:])
            }
            let all = try await snap("")
            #expect((all.1["history"] as? [Any])?.count == 11 && (all.1["events"] as? [Any])?.count == 15)
            let window = try await snap("?minutes=5&events=false")
            #expect((window.1["history"] as? [Any])?.count == 6, "now, filled()'s, and 1…4 minutes ago")
            #expect((window.1["events"] as? [Any])?.isEmpty == true)
            #expect(try await snap("?events=maybe").0 == 400)
            #expect(try await snap("?minutes=-1").0 == 400)
        }
    }
}
