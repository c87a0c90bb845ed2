import Flowspec
import Dataplane
import Foundation
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
    }

    /// What the dashboard shows, in one object: embedded in the page so it renders before any
    /// request of its own.
    struct Snapshot: Encodable {
        var status: StatusBody
        var rules: [RuleView]
        var incidents: [IncidentSummary]
        var history: [TrafficPoint]
        var impact: Impact
        /// The kept events, as the event stream sends them (JSON text).
        var events: [String]
    }

    static func status(state: ControlState, filter: any FilterSource) -> StatusBody {
        StatusBody(uptime_s: Date().timeIntervalSince(state.startedAt), sidecar: state.stats, calibration: state.calibration,
                   filter: filter.filterStats(), enforcing: filter.enforcing(), rules: filter.filterRules.count, time_ms: Int64(Date().timeIntervalSince1970 * 1000))
    }

    static func rules(state: ControlState, filter: any FilterSource, metrics: MetricsExporter) -> [RuleView] {
        let counters = filter.ruleCounters()
        let now = RuleView.nowNs()
        let announced = Dictionary((state.announcements ?? []).map { ($0.ruleID, $0) }, uniquingKeysWith: { $1 })
        return filter.filterRules.map { r in
            var v = RuleView(r, counters: counters[r.id], sidecarBase: metrics.sidecarRuleBase, incident: state.incident(ofRule: r.id), nowNs: now)
            if let a = announced[r.id] {
                v.bgp = a.state.rawValue
                v.bgp_detail = a.widened.isEmpty ? a.detail : a.detail + " (widened: dropped " + a.widened.joined(separator: " ") + ")"
            }
            return v
        }
    }

    static func impact(state: ControlState, filter: any FilterSource) -> Impact {
        Impact(filter: filter.filterStats(), rules: filter.filterRules, counters: filter.ruleCounters(), sidecar: state.stats,
               incidents: state.incidents)
    }

    /// `minutes`: only that much of the history (nil: all of it); `events`: false leaves them out.
    static func snapshot(state: ControlState, filter: any FilterSource, metrics: MetricsExporter, minutes: Double? = nil,
                         events: Bool = true) throws -> Snapshot {
        let since = minutes.map { Int64(Date().timeIntervalSince1970 * 1000 - $0 * 60_000) } ?? .min
        return Snapshot(status: status(state: state, filter: filter), rules: rules(state: state, filter: filter, metrics: metrics),
                        incidents: state.incidents, history: state.history(since: since), impact: impact(state: state, filter: filter),
                        events: events ? state.recentEvents : [])
    }
}
