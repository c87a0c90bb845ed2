import ControlPlane
import Dataplane
import Foundation
import Rules
import Sidecar
import TestSupport
import Testing

/// Issue 10 §7: per-owner totals that never go down, and the filter's counted and
/// observed_drops counters.
@Suite("Control plane: metrics totals", .offPool)
struct MetricsTotalsTests {
    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func countedAndObservedDropsAreExported() throws {
        let (state, filter) = filled()
        filter.state.withLock {
            $0.stats.counted = 4321
            $0.stats.observedDrops = 8765
        }
        var stats = state.stats
        stats.unexplainedCrossings = 13
        stats.falsePositives = 2
        let text = MetricsExporter().render(filter: filter.filterStats(), sidecar: stats, rules: filter.filterRules, counters: filter.ruleCounters())
        #expect(value(text, "holon_unexplained_crossings_total") == 13)
        #expect(value(text, "holon_false_positives_total") == 2)
        #expect(value(text, "holon_filter_counted_total") == 4321)
        #expect(value(text, "holon_filter_observed_drops_total") == 8765)
    }

    @Test func ownerTotalsKeepRetiredRules() throws {
        let (state, filter) = filled()
        let metrics = MetricsExporter()
        func scrape() -> String {
            metrics.render(filter: filter.filterStats(), sidecar: state.stats, rules: filter.filterRules, counters: filter.ruleCounters())
        }
        let sidecarDrops = #"holon_owner_rule_drops_total{owner="sidecar"}"#
        let operatorDrops = #"holon_owner_rule_drops_total{owner="operator"}"#
        var text = scrape()
        #expect(value(text, sidecarDrops) == 799_990)
        #expect(value(text, operatorDrops) == 10)
        #expect(value(text, #"holon_owner_rule_hits_total{owner="sidecar"}"#) == 799_990)

        // The sidecar retires its rule: the filter forgets its counters, the total does not.
        filter.state.withLock {
            $0.rules = [operatorRule]
            $0.counters[1_000_000_001] = nil
        }
        text = scrape()
        #expect(value(text, sidecarDrops) == 799_990)
        #expect(!text.contains(#"holon_rule_drops_total{id="1000000001""#), "the per-rule series still goes")

        // A new rule adds to it; one that comes and goes between two scrapes too (the server
        // observes once a second).
        let next = Rule(id: 1_000_000_002, match: [.equals(.proto, 17)], action: .drop, ttlSeconds: 60)
        filter.state.withLock {
            $0.rules = [operatorRule, next]
            $0.counters[next.id] = RuleCounters(hits: 10, drops: 10)
        }
        metrics.observe(counters: filter.ruleCounters())
        filter.state.withLock {
            $0.rules = [operatorRule]
            $0.counters[next.id] = nil
        }
        text = scrape()
        #expect(value(text, sidecarDrops) == 800_000)

        // An operator rule whose counters start again (its action changed) keeps its first life.
        filter.state.withLock { $0.counters[7] = RuleCounters(hits: 3, drops: 3) }
        text = scrape()
        #expect(value(text, operatorDrops) == 13)
        #expect(try promtool(text) == 0)
    }

    /// A stuck loop (blocked in a call) left /metrics answering with its last counters, and
    /// nothing there told a monitor it had stopped: the oldest loop's latest beat now does.
    @Test func theOldestHeartbeatIsAGauge() throws {
        let state = ControlState()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        _ = state.record(.heartbeat(SidecarStats()), at: t0.addingTimeInterval(5), source: "eth0")
        _ = state.record(.heartbeat(SidecarStats()), at: t0, source: "eth1")   // stuck since
        _ = state.record(.heartbeat(SidecarStats()), at: t0.addingTimeInterval(9), source: "eth0")
        #expect(state.oldestHeartbeat == t0)
        let text = MetricsExporter().render(filters: [], sidecar: state.stats, heartbeat: state.oldestHeartbeat)
        #expect(value(text, "holon_sidecar_heartbeat_timestamp_seconds") == 1_800_000_000, "\(text)")
        #expect(try promtool(text) == 0)
    }

    /// The server looks at the rules' counters once a second, scraped or not: a rule that
    /// comes and goes between two scrapes still counts.
    @Test(.timeLimit(.minutes(1))) func theServerWatchesBetweenScrapes() async throws {
        let (state, filter) = filled()
        let metrics = MetricsExporter()
        let brief = Rule(id: 1_000_000_002, match: [.equals(.proto, 17)], action: .drop, ttlSeconds: 60)
        try await withControlServer(state: state, filter: filter, metrics: metrics) { _ in
            filter.state.withLock {
                $0.rules.append(brief)
                $0.counters[brief.id] = RuleCounters(hits: 50, drops: 50)
            }
            // Three of the server's once-a-second looks: one may come late on a loaded machine.
            try await Task.sleep(for: .milliseconds(3500))
            filter.state.withLock {
                $0.rules.removeLast()
                $0.counters[brief.id] = nil
            }
        }
        let text = metrics.render(filter: filter.filterStats(), sidecar: state.stats, rules: filter.filterRules, counters: filter.ruleCounters())
        #expect(value(text, #"holon_owner_rule_drops_total{owner="sidecar"}"#) == 800_040)
    }

    func promtool(_ text: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        p.arguments = ["check", "metrics"]
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
