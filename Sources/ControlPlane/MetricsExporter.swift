import Dataplane
import Foundation
import Prometheus
import Rules
import Sidecar
import Synchronization

/// The Prometheus exposition of the filter's and the loop's counters (swift-prometheus renders
/// the text format). The filter keeps absolute totals, so each scrape sets every counter to the
/// filter's value; scrapes are serialised so two of them never interleave those updates.
public final class MetricsExporter: Sendable {
    struct Series {
        var counters: [String: Counter] = [:]
        var gauges: [String: Gauge] = [:]
        /// The filters' series, by name and interface ("" for a filter named nowhere).
        var filterCounters: [SeriesKey: Counter] = [:]
        var filterGauges: [SeriesKey: Gauge] = [:]
        var ruleSeries: [InterfaceRule: (hits: Counter, drops: Counter)] = [:]
        /// Per interface ("" for one filter named nowhere).
        var owners: [String: OwnerTotals] = [:]
    }

    struct SeriesKey: Hashable {
        var name: String
        var interface: String
    }

    /// What one filter shows a scrape: its counters, table and rules' counters. `interface`
    /// labels its series when the run protects several (nil: one filter, no label).
    public struct Reading: Sendable {
        public var interface: String?
        public var stats: DataplaneStats?
        public var rules: [Rule]
        public var counters: [UInt32: RuleCounters]
        /// ``FilterSource/enforcing()``; nil leaves `holon_filter_attached` as it was.
        public var attached: Bool?

        public init(interface: String? = nil, stats: DataplaneStats?, rules: [Rule], counters: [UInt32: RuleCounters], attached: Bool? = nil) {
            self.interface = interface
            self.stats = stats
            self.rules = rules
            self.counters = counters
            self.attached = attached
        }
    }

    let registry = PrometheusCollectorRegistry()
    let series = Mutex(Series())
    /// Rules at or above this id are the sidecar's (the `owner` label).
    let sidecarRuleBase: UInt32

    /// A filter's counters: one series per interface when the run protects several. (Computed:
    /// key paths are not Sendable.)
    static var filterCounterHelp: [(String, String, KeyPath<DataplaneStats, UInt64>)] { [
        ("holon_filter_packets_total", "Packets the XDP filter saw.", \.packets),
        ("holon_filter_bytes_total", "Bytes the XDP filter saw.", \.bytes),
        ("holon_filter_passed_total", "Packets passed.", \.passed),
        ("holon_filter_dropped_total", "Packets dropped (rules and rate limits).", \.dropped),
        ("holon_filter_rate_limited_total", "Packets dropped by a rate limit.", \.rateLimited),
        ("holon_filter_matched_total", "Packets that matched a rule.", \.matched),
        ("holon_filter_counted_total", "Packets a count rule matched (passed).", \.counted),
        ("holon_filter_observed_drops_total", "Packets observe mode would have dropped (passed).", \.observedDrops),
        ("holon_filter_allowlisted_total", "Packets of allowlisted sources that met a rule, passed (the rule did not apply).", \.allowlisted),
        ("holon_filter_unparsed_total", "Packets the filter could not parse (passed).", \.unparsed),
        ("holon_filter_sampled_total", "Packets sampled to the ring buffer.", \.sampled),
        ("holon_filter_ring_full_total", "Samples lost to a full ring buffer.", \.ringFull),
    ] }
    /// The live loops' counters, added up.
    static let counterHelp: [(String, String)] = [
        ("holon_sidecar_samples_total", "Samples the live loop read."),
        ("holon_sidecar_unparsed_samples_total", "Samples the live loop could not parse."),
        ("holon_incidents_total", "Incidents opened."),
        ("holon_unexplained_crossings_total", "Drift crossings that faded with nothing to attribute (not incidents)."),
        ("holon_false_positives_total", "Incidents whose rules were found hitting legitimate users, and released."),
    ]
    static let gaugeHelp: [(String, String)] = [
        ("holon_incidents_open", "Incidents open now."),
        ("holon_sidecar_rules", "Rules the sidecar holds in the filter."),
        ("holon_detector_warmed_up", "1 once the detector has learned its baseline."),
        ("holon_sidecar_heartbeat_timestamp_seconds",
         "Unix time of the oldest of the live loops' latest heartbeats (one a second each): alert when it falls behind, a loop is stuck."),
    ]
    /// A filter's own gauges: one series per interface when the run protects several.
    static let filterGaugeHelp: [(String, String)] = [
        ("holon_filter_rules", "Rules in the filter."),
        ("holon_filter_attached", "1 while the filter is attached to its interface (its table enforced), 0 when it is not."),
        ("holon_filter_rules_without_series",
         "Rules in the filter without holon_rule_* series of their own (past the limit of 1000 a filter; their counts are in holon_owner_rule_*_total)."),
    ]
    /// Rules of one filter with series of their own at most (``RuleSelection``).
    static let ruleSeriesLimit = 1000

    public init(sidecarRuleBase: UInt32 = SidecarConfig().ruleIDBase) {
        self.sidecarRuleBase = sidecarRuleBase
        let registry = self.registry
        series.withLock { s in
            for (name, help) in Self.counterHelp { s.counters[name] = registry.makeCounter(name: name, help: help) }
            for (name, help) in Self.gaugeHelp { s.gauges[name] = registry.makeGauge(name: name, help: help) }
        }
    }

    /// Takes the rules' counters between scrapes (the server does once a second), so drops of a
    /// rule retired between two scrapes still reach its owner's total.
    /// `interface`: the filter's, when the run protects several.
    public func observe(counters: [UInt32: RuleCounters], interface: String? = nil) {
        series.withLock { $0.owners[interface ?? "", default: OwnerTotals()].observe(counters: counters, sidecarBase: sidecarRuleBase) }
    }

    /// The text a Prometheus server scrapes: one filter's.
    /// `attached`: ``FilterSource/enforcing()``; nil leaves `holon_filter_attached` as it was.
    public func render(filter: DataplaneStats?, sidecar: SidecarStats, rules: [Rule], counters: [UInt32: RuleCounters],
                       attached: Bool? = nil) -> String {
        render(filters: [Reading(stats: filter, rules: rules, counters: counters, attached: attached)], sidecar: sidecar)
    }

    /// The text a Prometheus server scrapes: every filter's series (labelled with its
    /// `interface` when there are several) and the loops' counters, added up.
    /// `heartbeat`: ``ControlState/oldestHeartbeat``.
    public func render(filters: [Reading], sidecar: SidecarStats, heartbeat: Date? = nil) -> String {
        series.withLock { s in
            func set(_ name: String, _ value: UInt64) { Self.set(s.counters[name], value) }
            for f in filters { renderFilter(f, &s) }
            set("holon_sidecar_samples_total", UInt64(sidecar.samples))
            set("holon_sidecar_unparsed_samples_total", UInt64(sidecar.unparsed))
            set("holon_incidents_total", UInt64(sidecar.incidents))
            set("holon_unexplained_crossings_total", UInt64(max(0, sidecar.unexplainedCrossings)))
            set("holon_false_positives_total", UInt64(max(0, sidecar.falsePositives)))
            s.gauges["holon_incidents_open"]?.set(to: Double(sidecar.openIncidents))
            s.gauges["holon_sidecar_rules"]?.set(to: Double(sidecar.rulesInstalled))
            s.gauges["holon_detector_warmed_up"]?.set(to: sidecar.warmedUp ? 1 : 0)
            if let heartbeat { s.gauges["holon_sidecar_heartbeat_timestamp_seconds"]?.set(to: heartbeat.timeIntervalSince1970.rounded()) }

            // Per owner: every rule's drops, the retired ones' included, so the total never goes
            // down when the sidecar takes a rule out.
            for owner in OwnerTotals.owners {
                let labels = [("owner", owner)]
                var t = RuleCounters()
                for o in s.owners.values { t += o.total(owner) }
                for (name, value, help) in [("holon_owner_rule_hits_total", t.hits, "Packets the owner's rules matched, retired rules included."),
                                            ("holon_owner_rule_drops_total", t.drops, "Packets the owner's rules dropped, retired rules included.")] {
                    Self.set(registry.makeCounter(name: name, labels: labels, help: help), value)
                }
            }
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }
    }

    /// One filter's series: its counters and gauges, a series per rule in its table (a removed
    /// rule's goes with it), and its rules' drops into its owners' totals.
    private func renderFilter(_ f: Reading, _ s: inout Series) {
        let iface = f.interface ?? ""
        let labels = f.interface.map { [("interface", $0)] } ?? []
        for (name, help, field) in Self.filterCounterHelp {
            let key = SeriesKey(name: name, interface: iface)
            if s.filterCounters[key] == nil { s.filterCounters[key] = registry.makeCounter(name: name, labels: labels, help: help) }
            if let st = f.stats { Self.set(s.filterCounters[key], st[keyPath: field]) }
        }
        for (name, help) in Self.filterGaugeHelp {
            let key = SeriesKey(name: name, interface: iface)
            if s.filterGauges[key] == nil { s.filterGauges[key] = registry.makeGauge(name: name, labels: labels, help: help) }
        }
        s.filterGauges[SeriesKey(name: "holon_filter_rules", interface: iface)]?.set(to: Double(f.rules.count))
        if let attached = f.attached {
            s.filterGauges[SeriesKey(name: "holon_filter_attached", interface: iface)]?.set(to: attached ? 1 : 0)
        }

        // A series per rule up to the limit (Prometheus stores each one; a blocklist of a
        // million would be two million series and a scrape of minutes): the loop's rules, the
        // ones already exported while they stay, then those that dropped most.
        let shown = RuleSelection([f], limit: Self.ruleSeriesLimit, sidecarBase: sidecarRuleBase) { _, r in
            s.ruleSeries[InterfaceRule(interface: iface, id: r.id)] != nil
        }
        s.filterGauges[SeriesKey(name: "holon_filter_rules_without_series", interface: iface)]?.set(to: Double(shown.omitted))
        let ids = Set(shown.picked.map(\.rule.id))
        for (key, old) in s.ruleSeries where key.interface == iface && !ids.contains(key.id) {
            registry.unregisterCounter(old.hits)
            registry.unregisterCounter(old.drops)
            s.ruleSeries[key] = nil
        }
        for (_, r) in shown.picked {
            let key = InterfaceRule(interface: iface, id: r.id)
            let pair: (hits: Counter, drops: Counter)
            if let p = s.ruleSeries[key] {
                pair = p
            } else {
                let labels = [("id", String(r.id))] + labels + [("owner", OwnerTotals.owner(of: r.id, sidecarBase: sidecarRuleBase))]
                pair = (registry.makeCounter(name: "holon_rule_hits_total", labels: labels, help: "Packets that matched the rule."),
                        registry.makeCounter(name: "holon_rule_drops_total", labels: labels, help: "Packets the rule dropped."))
                s.ruleSeries[key] = pair
            }
            let c = f.counters[r.id] ?? RuleCounters(hits: 0, drops: 0)
            Self.set(pair.hits, c.hits)
            Self.set(pair.drops, c.drops)
        }
        s.owners[iface, default: OwnerTotals()].observe(counters: f.counters, sidecarBase: sidecarRuleBase)
    }

    /// A counter set to the filter's absolute total (it keeps totals, not increments).
    private static func set(_ c: Counter?, _ value: UInt64) {
        guard let c else { return }
        c.reset()
        c.increment(by: Int64(clamping: value))
    }
}
