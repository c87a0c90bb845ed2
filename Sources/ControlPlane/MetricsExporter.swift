import Dataplane
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
        var ruleSeries: [UInt32: (hits: Counter, drops: Counter)] = [:]
        var owners = OwnerTotals()
    }

    let registry = PrometheusCollectorRegistry()
    let series = Mutex(Series())
    /// Rules at or above this id are the sidecar's (the `owner` label).
    let sidecarRuleBase: UInt32

    static let counterHelp: [(String, String)] = [
        ("holon_filter_packets_total", "Packets the XDP filter saw."),
        ("holon_filter_bytes_total", "Bytes the XDP filter saw."),
        ("holon_filter_passed_total", "Packets passed."),
        ("holon_filter_dropped_total", "Packets dropped (rules and rate limits)."),
        ("holon_filter_rate_limited_total", "Packets dropped by a rate limit."),
        ("holon_filter_matched_total", "Packets that matched a rule."),
        ("holon_filter_counted_total", "Packets a count rule matched (passed)."),
        ("holon_filter_observed_drops_total", "Packets observe mode would have dropped (passed)."),
        ("holon_filter_allowlisted_total", "Packets of allowlisted sources that met a rule, passed (the rule did not apply)."),
        ("holon_filter_unparsed_total", "Packets the filter could not parse (passed)."),
        ("holon_filter_sampled_total", "Packets sampled to the ring buffer."),
        ("holon_filter_ring_full_total", "Samples lost to a full ring buffer."),
        ("holon_sidecar_samples_total", "Samples the live loop read."),
        ("holon_sidecar_unparsed_samples_total", "Samples the live loop could not parse."),
        ("holon_incidents_total", "Incidents opened."),
        ("holon_unexplained_crossings_total", "Drift crossings that faded with nothing to attribute (not incidents)."),
        ("holon_false_positives_total", "Incidents whose rules were found hitting legitimate users, and released."),
    ]
    static let gaugeHelp: [(String, String)] = [
        ("holon_incidents_open", "Incidents open now."),
        ("holon_sidecar_rules", "Rules the sidecar holds in the filter."),
        ("holon_filter_rules", "Rules in the filter."),
        ("holon_detector_warmed_up", "1 once the detector has learned its baseline."),
        ("holon_filter_attached", "1 while the filter is attached to its interface (its table enforced), 0 when it is not."),
    ]

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
    public func observe(rules: [Rule], counters: [UInt32: RuleCounters]) {
        series.withLock { $0.owners.observe(rules: rules, counters: counters, sidecarBase: sidecarRuleBase) }
    }

    /// The text a Prometheus server scrapes.
    /// `attached`: ``FilterSource/enforcing()``; nil leaves `holon_filter_attached` as it was.
    public func render(filter: DataplaneStats?, sidecar: SidecarStats, rules: [Rule], counters: [UInt32: RuleCounters],
                       attached: Bool? = nil) -> String {
        series.withLock { s in
            func set(_ name: String, _ value: UInt64) {
                guard let c = s.counters[name] else { return }
                c.reset()
                c.increment(by: Int64(clamping: value))
            }
            if let f = filter {
                set("holon_filter_packets_total", f.packets)
                set("holon_filter_bytes_total", f.bytes)
                set("holon_filter_passed_total", f.passed)
                set("holon_filter_dropped_total", f.dropped)
                set("holon_filter_rate_limited_total", f.rateLimited)
                set("holon_filter_matched_total", f.matched)
                set("holon_filter_counted_total", f.counted)
                set("holon_filter_observed_drops_total", f.observedDrops)
                set("holon_filter_allowlisted_total", f.allowlisted)
                set("holon_filter_unparsed_total", f.unparsed)
                set("holon_filter_sampled_total", f.sampled)
                set("holon_filter_ring_full_total", f.ringFull)
            }
            set("holon_sidecar_samples_total", UInt64(sidecar.samples))
            set("holon_sidecar_unparsed_samples_total", UInt64(sidecar.unparsed))
            set("holon_incidents_total", UInt64(sidecar.incidents))
            set("holon_unexplained_crossings_total", UInt64(max(0, sidecar.unexplainedCrossings)))
            set("holon_false_positives_total", UInt64(max(0, sidecar.falsePositives)))
            s.gauges["holon_incidents_open"]?.set(to: Double(sidecar.openIncidents))
            s.gauges["holon_sidecar_rules"]?.set(to: Double(sidecar.rulesInstalled))
            s.gauges["holon_filter_rules"]?.set(to: Double(rules.count))
            s.gauges["holon_detector_warmed_up"]?.set(to: sidecar.warmedUp ? 1 : 0)
            if let attached { s.gauges["holon_filter_attached"]?.set(to: attached ? 1 : 0) }

            // One series per rule in the table; a removed rule's series goes with it.
            let ids = Set(rules.map(\.id))
            for (id, old) in s.ruleSeries where !ids.contains(id) {
                registry.unregisterCounter(old.hits)
                registry.unregisterCounter(old.drops)
                s.ruleSeries[id] = nil
            }
            for r in rules {
                let pair: (hits: Counter, drops: Counter)
                if let p = s.ruleSeries[r.id] {
                    pair = p
                } else {
                    let labels = [("id", String(r.id)), ("owner", r.id >= sidecarRuleBase ? "sidecar" : "operator")]
                    pair = (registry.makeCounter(name: "holon_rule_hits_total", labels: labels, help: "Packets that matched the rule."),
                            registry.makeCounter(name: "holon_rule_drops_total", labels: labels, help: "Packets the rule dropped."))
                    s.ruleSeries[r.id] = pair
                }
                let c = counters[r.id] ?? RuleCounters(hits: 0, drops: 0)
                pair.hits.reset(); pair.hits.increment(by: Int64(clamping: c.hits))
                pair.drops.reset(); pair.drops.increment(by: Int64(clamping: c.drops))
            }
            // Per owner: every rule's drops, the retired ones' included, so the total never goes
            // down when the sidecar takes a rule out.
            s.owners.observe(rules: rules, counters: counters, sidecarBase: sidecarRuleBase)
            for owner in OwnerTotals.owners {
                let labels = [("owner", owner)]
                let t = s.owners.total(owner)
                for (name, value, help) in [("holon_owner_rule_hits_total", t.hits, "Packets the owner's rules matched, retired rules included."),
                                            ("holon_owner_rule_drops_total", t.drops, "Packets the owner's rules dropped, retired rules included.")] {
                    let c = registry.makeCounter(name: name, labels: labels, help: help)
                    c.reset(); c.increment(by: Int64(clamping: value))
                }
            }
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }
    }
}
