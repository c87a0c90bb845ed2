import ControlPlane
import Dataplane
import Foundation
// Through ControlPlane's own dependencies: a private lab and its traffic.
import Generator
import Lab
import TestSupport
import Testing

/// The operator's changes over HTTP on a real filter: XDP attached in a private lab
/// (`holon-cptest-<tag>-gen|flt`), a flood from 45.83.0.0/16 sent through it, and what the
/// filter did with it read from its own counters. Root only.
@Suite("Control plane: changes on a real filter", .ownThread, .enabled(if: geteuid() == 0, "needs root (namespaces, XDP)"))
struct RealFilterChangesTests {
    func send(_ port: Int, _ method: String, _ path: String, _ body: String? = nil) async throws -> RawHTTP.Answer {
        try await offPool { try RawHTTP.request(port: port, method, path, body: body) }
    }

    // Five minutes: a turn among the blocking suites (.ownThread) may come late.
    @Test(.timeLimitAfterTurn(minutes: 5)) func rulesModeAndAllowlistReachTheFilter() async throws {
        let tag = "cp\(getpid() % 10000)f"
        let lab = Lab(.scratch(prefix: "holon-cptest", tag: tag))
        try? lab.down()
        try lab.up()
        let options = DataplaneOptions(pinDirectory: "/sys/fs/bpf/holon-cptest-\(tag)", namespace: lab.topology.filterNamespace,
                                       interface: lab.topology.filterInterface, stateDirectory: "/tmp/holon-cptest-state")
        _ = try? Dataplane.detach(options, force: true, forgetRules: true)
        defer {
            _ = try? Dataplane.detach(options, force: true, forgetRules: true)
            try? lab.down()
        }
        let (dp, _) = try Dataplane.attach(options)
        try dp.setSampleEvery(0)
        let traffic = LabTrafficSender(lab: lab)
        /// One second of the flood (udp-flood's attack phase starts at 20 s), and what the filter did.
        @Sendable func flood() async throws -> (sent: UInt64, stats: DataplaneStats) {
            let before = try dp.stats()
            let sent = try await offPool { try traffic.send(scenario: "udp-flood", pps: 2000, offset: 20, seconds: 1) }
            try await Task.sleep(for: .milliseconds(100))
            var d = try dp.stats()
            d.packets -= before.packets
            d.dropped -= before.dropped
            d.allowlisted -= before.allowlisted
            d.observedDrops -= before.observedDrops
            return (sent, d)
        }
        let (state, _) = filled()
        try await withControlServer(state: state, filter: dp) { port in
            let added = try await send(port, "POST", "/api/rules", #"{"rule": "(rule (= proto udp) (drop) :id 7)"}"#)
            #expect(added.status == 201, "\(added.body)")
            #expect(dp.rules.map(\.id) == [7])
            var (sent, s) = try await flood()
            // The flood is 98 % of it (the rest is the scenario's normal traffic).
            #expect(sent > 1000 && s.packets >= sent && s.dropped > s.packets * 9 / 10 && s.allowlisted == 0, "enforced: \(s)")

            #expect(try await send(port, "PUT", "/api/allowlist", #"{"prefixes": ["45.83.0.0/16"]}"#).status == 200)
            (sent, s) = try await flood()
            #expect(s.packets >= sent && s.allowlisted > s.packets * 9 / 10 && s.dropped < s.packets / 20, "allowlisted: \(s)")

            #expect(try await send(port, "PUT", "/api/allowlist", #"{"prefixes": []}"#).status == 200)
            #expect(try await send(port, "PUT", "/api/mode", #"{"observe": true}"#).status == 200)
            #expect(try dp.settings().observe)
            (sent, s) = try await flood()
            #expect(s.packets >= sent && s.dropped == 0 && s.allowlisted == 0 && s.observedDrops > s.packets * 9 / 10, "observed: \(s)")
            #expect(errorText(try await send(port, "GET", "/api/mode").body) == nil)

            #expect(try await send(port, "PUT", "/api/mode", #"{"observe": false}"#).status == 200)
            #expect(try await send(port, "DELETE", "/api/rules/7").status == 200)
            #expect(dp.rules.isEmpty)
            (sent, s) = try await flood()
            #expect(s.dropped == 0 && s.observedDrops == 0 && s.packets >= sent, "no rule: \(s)")
        }
    }
}
