import Flowspec
import Dataplane
import Foundation
import Rules
import Sidecar

/// The bodies of the read API, each built from the loop's state and the filter.
extension ControlServer {
    /// Every key is always there: absent values are null.
    struct StatusBody: Encodable {
        var uptime_s: Double
        var sidecar: SidecarStats
        @NullWhenAbsent var calibration: [String: Double]?
        @NullWhenAbsent var filter: DataplaneStats?
        /// Whether the filter is attached, its table enforced (``FilterSource/enforcing()``).
        @NullWhenAbsent var enforcing: Bool?
        var rules: Int
        /// Unix milliseconds of this answer: the clock the events' `time_ms` are in.
        var time_ms: Int64
        /// Each interface's filter, when the run protects several (`filter`, `enforcing` and
        /// `rules` then cover them all); null with one.
        @NullWhenAbsent var interfaces: [InterfaceStatus]?
        /// Whether the filters only observe (count what they would drop), as `/api/mode` says;
        /// null when it cannot be read.
        @NullWhenAbsent var observe: Bool?
    }

    struct InterfaceStatus: Encodable {
        var interface: String
        @NullWhenAbsent var filter: DataplaneStats?
        @NullWhenAbsent var enforcing: Bool?
        var rules: Int
    }

    /// What the dashboard shows, in one object: embedded in the page so it renders before any
    /// request of its own.
    struct Snapshot: Encodable {
        var status: StatusBody
        /// At most ``Dashboard/ruleLimit`` rules (``RuleSelection``): the live loop's, then
        /// those that dropped most; `/api/rules` has them all.
        var rules: [RuleView]
        /// Rules of the filters not in `rules` (0 unless the tables hold more than the limit).
        var rules_omitted: Int
        var incidents: [IncidentSummary]
        var history: [TrafficPoint]
        var impact: Impact
        /// The kept events, as the event stream sends them (JSON text).
        var events: [String]
    }

    /// `readings`: each filter read once for the answer (``readings(_:)``).
    static func status(state: ControlState, filters: FilterGroup, readings: [MetricsExporter.Reading]) -> StatusBody {
        let each = readings.compactMap { r in
            r.interface.map { InterfaceStatus(interface: $0, filter: r.stats, enforcing: r.attached, rules: r.rules.count) }
        }
        return StatusBody(uptime_s: Date().timeIntervalSince(state.startedAt), sidecar: state.stats, calibration: state.calibration,
                          filter: readings.stats, enforcing: readings.enforcing, rules: readings.ruleCount,
                          time_ms: Int64(Date().timeIntervalSince1970 * 1000), interfaces: each.isEmpty ? nil : each,
                          observe: filters.first.observing())
    }

    /// Every filter's rules, each with its interface (when there are several); at most `limit`
    /// of them (``RuleSelection``), with how many were left out.
    static func rules(state: ControlState, readings: [MetricsExporter.Reading], metrics: MetricsExporter,
                      limit: Int = .max) -> (views: [RuleView], omitted: Int) {
        let selection = RuleSelection(readings, limit: limit, sidecarBase: metrics.sidecarRuleBase)
        return (views(selection.picked, state: state, readings: readings, metrics: metrics), selection.omitted)
    }

    /// How the API shows `picked` (rules of `readings`, each with its reading's index).
    static func views(_ picked: [(reading: Int, rule: Rule)], state: ControlState, readings: [MetricsExporter.Reading],
                      metrics: MetricsExporter) -> [RuleView] {
        let now = RuleView.nowNs()
        let announced = Dictionary((state.announcements ?? []).map { ($0.ruleID, $0) }, uniquingKeysWith: { $1 })
        return picked.map { i, r in
            let f = readings[i]
            var v = RuleView(r, counters: f.counters[r.id], sidecarBase: metrics.sidecarRuleBase,
                             incident: state.incident(ofRule: r.id, source: f.interface), nowNs: now)
            v.interface = f.interface
            if let a = announced[r.id] {
                v.bgp = a.state.rawValue
                v.bgp_detail = a.widened.isEmpty ? a.detail : a.detail + " (widened: dropped " + a.widened.joined(separator: " ") + ")"
            }
            return v
        }
    }

    static func impact(state: ControlState, readings: [MetricsExporter.Reading]) -> Impact {
        // Only rules that dropped: a million-rule blocklist has few.
        let drops = readings.flatMap { f in f.rules.compactMap { r in f.counters[r.id].flatMap { $0.drops > 0 ? (r, $0.drops) : nil } } }
        return Impact(filter: readings.stats, drops: drops, sidecar: state.stats, incidents: state.incidents)
    }

    /// `minutes`: only that much of the history (nil: all of it); `events`: false leaves them out.
    /// Each filter is read once for all of it: the dashboard asks every second, and a 100k-rule
    /// table's counters are one batch read each.
    static func snapshot(state: ControlState, filters: FilterGroup, metrics: MetricsExporter, minutes: Double? = nil,
                         events: Bool = true) throws -> Snapshot {
        let since = minutes.map { Int64(Date().timeIntervalSince1970 * 1000 - $0 * 60_000) } ?? .min
        let read = readings(filters)
        let shown = rules(state: state, readings: read, metrics: metrics, limit: Dashboard.ruleLimit)
        return Snapshot(status: status(state: state, filters: filters, readings: read), rules: shown.views, rules_omitted: shown.omitted,
                        incidents: state.incidents, history: state.history(since: since), impact: impact(state: state, readings: read),
                        events: events ? state.recentEvents : [])
    }

    /// What `/metrics` shows of each filter.
    static func readings(_ filters: FilterGroup) -> [MetricsExporter.Reading] {
        filters.members.map { m in
            MetricsExporter.Reading(interface: m.name, stats: m.source.filterStats(), rules: m.source.filterRules,
                                    counters: m.source.ruleCounters(), attached: m.source.enforcing())
        }
    }
}
