import ControlPlane
import Dataplane
@testable import Detection
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import Rules
import ServiceLifecycle
import Sidecar
import Synchronization
import TestSupport
import Testing

/// A filter that exists only in memory: counters and a table the test sets.
final class FakeFilter: FilterSource {
    struct State {
        var stats = DataplaneStats()
        var rules: [Rule] = []
        var counters: [UInt32: RuleCounters] = [:]
        /// Set: the state on disk does not describe the maps (verifiedTable throws it).
        var stateProblem: String?
        var changes = 0
        var observe = false
        var allowlist: [AllowPrefix] = []
        /// False: pinned, its link gone (FilterSource.enforcing).
        var attached = true
    }
    struct Problem: Error, CustomStringConvertible { var description: String }
    let state = Mutex(State())
    func filterStats() -> DataplaneStats? { state.withLock { $0.stats } }
    var filterRules: [Rule] { state.withLock { $0.rules } }
    func ruleCounters() -> [UInt32: RuleCounters] { state.withLock { $0.counters } }
    func verifiedTable() throws -> [Rule] {
        try state.withLock { s in
            if let p = s.stateProblem { throw Problem(description: p) }
            return s.rules
        }
    }
    func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws {
        state.withLock { s in
            s.rules = change(s.rules)
            s.changes += 1
            // As the filter does: a rule that left takes its counters with it.
            let ids = Set(s.rules.map(\.id))
            s.counters = s.counters.filter { ids.contains($0.key) }
        }
    }
    func observing() -> Bool? { state.withLock { $0.observe } }
    func setObserving(_ on: Bool) throws { state.withLock { $0.observe = on } }
    func allowlist() -> [AllowPrefix]? { state.withLock { $0.allowlist } }
    func replaceAllowlist(_ prefixes: [AllowPrefix]) throws { state.withLock { $0.allowlist = prefixes } }
    func enforcing() -> Bool? { state.withLock { $0.attached } }
}

let operatorRule = Rule(id: 7, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop, priority: 10)
let sidecarRule = Rule(id: 1_000_000_001, match: [.equals(.proto, 6), .equals(.tcpFlags, 2)], action: .drop, priority: 100,
                       ttlSeconds: 60, name: "holon-incident-1", explanation: "tcp_flags=2 presence 0.0→0.9", createdAt: 1)

/// The events of one attack, as the sidecar reports them.
func attackEvents() -> [SidecarEvent] {
    var incident = Incident(id: 1, openedAt: 5_000_000_000, drift: 0.4, dimension: 64)
    var stats = SidecarStats()
    stats.samples = 1234
    stats.incidents = 1
    stats.openIncidents = 1
    stats.rulesInstalled = 1
    stats.warmedUp = true
    var events: [SidecarEvent] = [
        .calibrated(openThreshold: 0.01, closeThreshold: 0.005, baselinePps: 5000),
        .opened(incident),
        .installed(incident: 1, [sidecarRule], nanoseconds: 1_500_000),
        .heartbeat(stats),
    ]
    incident.closedAt = 9_000_000_000
    incident.name = "syn-flood"
    incident.estimatedPps = 99_500
    events.append(.closed(incident))
    return events
}

func filled() -> (ControlState, FakeFilter) {
    let state = ControlState()
    for e in attackEvents() { state.record(e) }
    let filter = FakeFilter()
    filter.state.withLock {
        $0.stats.packets = 1_000_000
        $0.stats.passed = 200_000
        $0.stats.dropped = 800_000
        $0.stats.matched = 800_000
        $0.stats.sampled = 100_000
        $0.rules = [operatorRule, sidecarRule]
        $0.counters = [7: RuleCounters(hits: 10, drops: 10), 1_000_000_001: RuleCounters(hits: 799_990, drops: 799_990)]
    }
    return (state, filter)
}

@Suite("Control plane", .offPool)
struct ControlPlaneTests {
    @Test func stateFollowsTheIncident() {
        let (state, _) = filled()
        let incidents = state.incidents
        #expect(incidents.count == 1)
        #expect(incidents[0].name == "syn-flood")
        #expect(incidents[0].closed_at_ns == 9_000_000_000)
        #expect(incidents[0].estimated_pps == 99_500)
        #expect(incidents[0].rules == [SidecarEvent.short(sidecarRule)])
        #expect(state.stats.samples == 1234)
        #expect(state.calibration?["baseline_pps"] == 5000)
        #expect(state.recentEvents.count == 5)
    }

    @Test func keptEventsAreBounded() {
        let state = ControlState(keepEvents: 10)
        for _ in 0..<25 { state.record(.heartbeat(SidecarStats())) }
        #expect(state.recentEvents.count == 10)
    }

    @Test func subscribersGetTheKeptEventsThenNewOnes() async {
        let state = ControlState()
        state.record(.calibrated(openThreshold: 1, closeThreshold: 0.5, baselinePps: 10))
        let (replay, stream) = state.subscribe()
        #expect(replay.count == 1 && replay[0].contains("calibrated"))
        #expect(state.subscriberCount == 1)
        state.record(.removed([5], reason: "test"))
        state.finishSubscriptions()
        var got: [String] = []
        for await line in stream { got.append(line) }
        #expect(got.count == 1 && got[0].contains("\"removed\""))
        #expect(state.subscriberCount == 0)
    }

    /// The exposition passes Prometheus' own checker and says what the filter says.
    @Test func metricsPassPromtool() throws {
        let (state, filter) = filled()
        let metrics = MetricsExporter()
        var text = metrics.render(filter: filter.filterStats(), sidecar: state.stats, rules: filter.filterRules, counters: filter.ruleCounters())
        #expect(text.contains("holon_filter_packets_total 1000000"))
        #expect(text.contains("holon_filter_dropped_total 800000"))
        #expect(text.contains(#"holon_rule_drops_total{id="1000000001",owner="sidecar"} 799990"#))
        #expect(text.contains(#"holon_rule_hits_total{id="7",owner="operator"} 10"#))
        #expect(text.contains("holon_incidents_open 1"))
        #expect(try promtool(text) == 0)

        // Counters follow the filter's totals on every scrape; a removed rule's series goes.
        filter.state.withLock {
            $0.stats.packets = 1_500_000
            $0.rules = [operatorRule]
        }
        text = metrics.render(filter: filter.filterStats(), sidecar: state.stats, rules: filter.filterRules, counters: filter.ruleCounters())
        #expect(text.contains("holon_filter_packets_total 1500000"))
        #expect(!text.contains("1000000001"))
        #expect(try promtool(text) == 0)
    }

    func promtool(_ text: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        p.arguments = ["check", "metrics"]
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func apiRoutes() async throws {
        let (state, filter) = filled()
        try await withServer(ControlServer.router(state: state, filter: filter, metrics: MetricsExporter())) { port in
            func json(_ path: String) async throws -> Any {
                let r = try await get(port, path)
                #expect(r.status == 200 && r.contentType == "application/json", "\(path)")
                return try JSONSerialization.jsonObject(with: Data(r.body.utf8))
            }
            let status = try await json("/api/status") as? [String: Any]
            #expect(Set(status?.keys.map { $0 } ?? []) == ["uptime_s", "sidecar", "calibration", "filter", "enforcing", "rules", "time_ms", "interfaces", "observe"])
            #expect(status?["observe"] as? Bool == false)
            #expect(status?["interfaces"] is NSNull, "one filter: named nowhere")
            #expect((status?["rules"] as? Int) == 2)
            #expect((status?["enforcing"] as? Bool) == true)
            let rules = try await json("/api/rules") as? [[String: Any]]
            #expect(rules?.map { $0["owner"] as? String } == ["operator", "sidecar"])
            #expect((rules?[1]["drops"] as? Int) == 799_990)
            #expect(rules?[0]["name"] is NSNull, "absent values are null")
            let incidents = try await json("/api/incidents") as? [[String: Any]]
            #expect(incidents?.first?["name"] as? String == "syn-flood")

            let metrics = try await get(port, "/metrics")
            #expect(metrics.contentType.hasPrefix("text/plain; version=0.0.4"))
            #expect(metrics.body.contains("holon_filter_matched_total 800000"))
            #expect(metrics.body.contains("holon_filter_attached 1"))
            // The filter's interface deleted under it: the pins stay, nothing is enforced, and
            // an operator's alert needs to hear it (the counters alone do not change).
            filter.state.withLock { $0.attached = false }
            #expect(try await get(port, "/metrics").body.contains("holon_filter_attached 0"))
            #expect((try await json("/api/status") as? [String: Any])?["enforcing"] as? Bool == false)
            let events = try await get(port, "/api/events?follow=false")
            #expect(events.contentType == "text/event-stream")
            let lines = events.body.split(separator: "\n\n")
            #expect(lines.count == 5 && lines.allSatisfy { $0.hasPrefix("data: {") })
            #expect(try await get(port, "/").body.contains("<title>Holon</title>"))
            #expect(try await get(port, "/nope").status == 404)
        }
    }

    /// The dashboard as a browser renders it: headless Chromium (installed by scripts/setup)
    /// against a live server, on `/` itself with its event stream open — the state is in the
    /// page, so the DOM has it as soon as the page has loaded.
    @Test(.timeLimit(.minutes(1))) func dashboardRendersInABrowser() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let dom = try await offPool { try HeadlessBrowser.dom("http://127.0.0.1:\(port)/") }
            #expect(dom.contains(#"id="state" class="incident">under attack: mitigating"#), "state badge")
            #expect(dom.contains(#"id="rules">1 / 2"#))
            #expect(dom.contains("(rule (and (= proto tcp) (= tcp_flags syn))"))
            #expect(dom.contains("syn-flood"))
            #expect(dom.contains("99,500"))
            #expect(dom.contains("<td>#1</td>"), "the rule's incident")
            #expect(dom.contains("800,000"), "drops towards any destination")
            #expect(dom.contains(#"<button data-id="1000000001" data-do="release">release</button> <button data-id="1000000001" data-do="pin">pin</button>"#))
            #expect(!dom.contains(#"data-id="7""#), "no buttons on an operator's rule")
            #expect(dom.contains(#"<button id="capture""#), "a capture of the loop's samples")
            #expect(dom.range(of: #"<div>\d\d:\d\d:\d\d calibrated"#, options: .regularExpression) != nil, "events, stamped")
            // Observe mode drops nothing: the badge must not say "mitigating" (it did).
            filter.state.withLock { $0.observe = true }
            let observing = try await offPool { try HeadlessBrowser.dom("http://127.0.0.1:\(port)/") }
            #expect(observing.contains(#"id="state" class="incident">under attack: observe mode, nothing dropped"#), "\(observing)")
        }
    }
}

/// Runs `router` on an ephemeral loopback port while `body` runs, then shuts it down.
func withServer(_ router: Router<BasicRequestContext>, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let bound = Mutex<Int?>(nil)
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { channel in bound.withLock { $0 = channel.localAddress?.port } })
    try await withService(app, port: { bound.withLock { $0 } }, body)
}

/// Runs the control plane's own server (its configuration: idle timeout, services) on an
/// ephemeral loopback port while `body` runs.
func withControlServer(host: String = "127.0.0.1", state: ControlState, filter: any FilterSource, metrics: MetricsExporter = MetricsExporter(),
                       access: ControlAccess? = nil, lab: LabGeneration? = nil, tls: ControlTLS? = nil,
                       idleTimeout: Duration = ControlServer.defaultIdleTimeout,
                       _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    try await withControlServer(host: host, state: state, filters: FilterGroup(filter), metrics: metrics, access: access, lab: lab, tls: tls,
                                idleTimeout: idleTimeout, body)
}

/// The same over several filters (one per interface).
func withControlServer(host: String = "127.0.0.1", state: ControlState, filters: FilterGroup, metrics: MetricsExporter = MetricsExporter(),
                       access: ControlAccess? = nil, lab: LabGeneration? = nil, tls: ControlTLS? = nil,
                       idleTimeout: Duration = ControlServer.defaultIdleTimeout,
                       _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let bound = Mutex<Int?>(nil)
    let app = try ControlServer.application(host: host, port: 0, state: state, filters: filters, metrics: metrics, access: access, lab: lab,
                                            tls: tls, idleTimeout: idleTimeout) { port in bound.withLock { $0 = port } }
    // Open event streams end first, as `holon run` ends them: graceful shutdown waits for them.
    try await withService(app, port: { bound.withLock { $0 } }, beforeShutdown: { state.finishSubscriptions() }, body)
}

/// Waits, up to `seconds`, until at most `count` event streams are open. The server notices
/// a client has left only when it next writes to it, so an event is recorded every 50 ms. 20 s
/// by default: in a full `swift test` every HTTP suite's server shares one thread, and a clean-
/// clone CI run beside the root suites once left 64 departed streams counted after 5 s.
func waitForSubscribers(_ state: ControlState, atMost count: Int, seconds: Double = 20) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while state.subscriberCount > count && Date() < deadline {
        state.record(.notice(kind: "test", message: "tick"))
        try await Task.sleep(for: .milliseconds(50))
    }
}

func withService(_ app: some Service, port bound: @escaping @Sendable () -> Int?, beforeShutdown: @Sendable () -> Void = {},
                 _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        // The server under test runs on its own thread: in a full `swift test` the cooperative
        // pool (one thread per core, two here) is often held by other suites' blocking tests,
        // and a server waiting for it answers nothing for seconds.
        tasks.addTask(executorPreference: ServerExecutor.shared) { try await group.run() }
        var port: Int?
        for _ in 0..<500 where port == nil {
            try await Task.sleep(for: .milliseconds(10))
            port = bound()
        }
        do {
            try await body(try #require(port))
        } catch {
            beforeShutdown()
            await group.triggerGracefulShutdown()
            throw error
        }
        beforeShutdown()
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

func get(_ port: Int, _ path: String) async throws -> (status: Int, contentType: String, body: String) {
    let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    let http = response as! HTTPURLResponse
    return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type") ?? "", String(decoding: data, as: UTF8.self))
}
