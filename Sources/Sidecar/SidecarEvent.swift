import Detection
import Foundation
import Rules

/// What the live loop did, in the order it did it: for a log line, a JSON line, a dashboard.
public enum SidecarEvent: Sendable {
    /// Warmup ended: what the detector learned.
    case calibrated(openThreshold: Double, closeThreshold: Double, baselinePps: Double)
    case opened(Incident)
    /// Rules written to the filter for an incident (ids in the sidecar's range).
    case installed(incident: Int, [Rule], nanoseconds: UInt64)
    /// Rules a dry run would have installed for an incident.
    case proposed(incident: Int, [Rule])
    /// An incident's rules were not enforced: the guardrail on the number of rules.
    case refused(incident: Int, [Rule], reason: String)
    case closed(Incident)
    /// Rules taken out of the filter: their hold after the incident ran out, or (adopted from an
    /// earlier run) their TTL did.
    case removed([UInt32], reason: String)
    /// Rules rewritten in place, under their ids: a held rule's drop becomes a rate limit.
    case changed([Rule], reason: String)
    /// The filter's mode changed: `observe` true, its rules count what they match and drop
    /// nothing; false, they enforce.
    case filterMode(observe: Bool)
    /// Rules of an earlier run found in the filter at start: they stay until their TTL, or,
    /// pinned by an operator (no TTL), until deleted.
    case adopted([Rule])
    /// Once a second: traffic and loop counters.
    case heartbeat(SidecarStats)
    /// Something the operator must know that is not an incident: still learning, the filter
    /// lost or re-attached, a rule released. `kind` is a short stable word for programs.
    case notice(kind: String, message: String)
}

/// Counters of the loop.
public struct SidecarStats: Sendable, Codable, Hashable {
    public var samples = 0
    /// Samples from before this run started (waiting in the ring, or stamped earlier): ignored.
    public var stale = 0
    /// Samples the parser rejected (counted, skipped).
    public var unparsed = 0
    /// Samples of traffic the filter had already dropped, kept out of the warmup's baseline.
    public var skippedDuringWarmup = 0
    public var incidents = 0
    /// Drift crossings that faded with nothing to blame: counted here, not as incidents.
    public var unexplainedCrossings = 0
    /// Samples to destinations outside the protected networks: not learned, not judged.
    public var outsideProtected = 0
    public var openIncidents = 0
    /// Incidents whose rules were found hitting real users and released.
    public var falsePositives = 0
    /// Rules the loop holds in the filter (ids from `RuleOwnership.sidecarBase`); operators' rules are not counted.
    public var rulesInstalled = 0
    public var warmedUp = false
    public var filterPackets: UInt64 = 0
    public var filterDropped: UInt64 = 0
    /// Packets per second through the filter, and dropped per second, over the last heartbeat.
    public var filterPps = 0.0
    public var filterDropPps = 0.0
    public var ringFull: UInt64 = 0
    /// False while the loop's filter is not attached (its interface gone, or detached under it)
    /// and the loop waits for it: nothing is enforced.
    public var filterAttached = true

    public init() {}
}

extension SidecarEvent {
    /// One line for a person.
    public var text: String {
        switch self {
        case .calibrated(let open, let close, let pps):
            return String(format: "calibrated: baseline %.0f pps, open above drift %.4f, close below %.4f", pps, open, close)
        case .opened(let i):
            return "incident \(i.id) opened (drift \(String(format: "%.4f", i.drift)))"
        case .installed(let id, let rules, let ns):
            return "incident \(id): installed \(rules.count) rule(s) in \(String(format: "%.1f", Double(ns) / 1e6)) ms\n"
                + rules.map { "  \($0.id): \(Self.short($0))" }.joined(separator: "\n")
        case .proposed(let id, let rules):
            return "incident \(id): would install \(rules.count) rule(s) (dry run)\n"
                + rules.map { "  \($0.id): \(Self.short($0))" }.joined(separator: "\n")
        case .refused(let id, let rules, let reason):
            return "incident \(id): \(rules.count) rule(s) not installed: \(reason)"
        case .closed(let i):
            let rate = i.estimatedPps.map { String(format: ", %.0f pps", $0) } ?? ""
            return "incident \(i.id) closed: \(i.name)\(rate), \(i.distinctSources) sources" + (i.falsePositive == nil ? "" : " (FALSE POSITIVE)")
        case .removed(let ids, let reason):
            return "removed rule(s) \(ids.map(String.init).joined(separator: ", ")): \(reason)"
        case .changed(let rules, let reason):
            return "rule(s) \(rules.map { String($0.id) }.joined(separator: ", ")): \(reason)\n"
                + rules.map { "  \($0.id): \(Self.short($0))" }.joined(separator: "\n")
        case .filterMode(let observe):
            return observe ? "the filter now observes: its rules count what they match and drop nothing"
                : "the filter now enforces: its rules drop what they match"
        case .adopted(let rules):
            let pinned = rules.filter { $0.ttlSeconds == nil }.count
            return "adopted \(rules.count - pinned) rule(s) of an earlier run (kept until their TTL)"
                + (pinned == 0 ? "" : " and \(pinned) pinned by an operator (kept until deleted)")
        case .notice(let kind, let message):
            return "\(kind): \(message)"
        case .heartbeat(let s):
            return String(format: "filter %.0f pps, dropping %.0f pps  |  incidents %d open / %d  rules %d of its own  samples %d", s.filterPps, s.filterDropPps,
                          s.openIncidents, s.incidents, s.rulesInstalled, s.samples) + (s.warmedUp ? "" : "  (learning)")
                + (s.filterAttached ? "" : "  NOTHING ENFORCED: the filter is not attached")
        }
    }

    /// A rule in the rule language without its provenance (`:created`, `:explain`): for tables.
    public static func short(_ r: Rule) -> String {
        var r = r
        r.explanation = nil
        r.createdAt = nil
        return r.text
    }

    /// One JSON object for a program (`holon run --json`), keys sorted.
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// `{"event": KIND, …}`: each event's fields under the names `holon run --json`, the API's
/// event stream and the dashboard read. An absent value is `null`, not a missing key.
extension SidecarEvent: Encodable {
    /// A key by its name (the event's, and what a stamp adds beside them).
    public struct Key: CodingKey {
        public var stringValue: String
        public var intValue: Int? { nil }
        public init(_ s: String) { stringValue = s }
        public init?(stringValue: String) { self.stringValue = stringValue }
        public init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        func put<T: Encodable>(_ key: String, _ value: T?) throws {
            if let value { try c.encode(value, forKey: Key(key)) } else { try c.encodeNil(forKey: Key(key)) }
        }
        switch self {
        case .calibrated(let open, let close, let pps):
            try put("event", "calibrated"); try put("open_threshold", open); try put("close_threshold", close); try put("baseline_pps", pps)
        case .opened(let i):
            try put("event", "opened"); try put("incident", i.id); try put("drift", i.drift); try put("at_ns", i.openedAt)
        case .installed(let id, let rules, let ns):
            try put("event", "installed"); try put("incident", id); try put("rules", rules.map(\.text)); try put("ids", rules.map(\.id))
            try put("install_ns", ns)
        case .proposed(let id, let rules):
            try put("event", "proposed"); try put("incident", id); try put("rules", rules.map(\.text)); try put("ids", rules.map(\.id))
        case .refused(let id, let rules, let reason):
            try put("event", "refused"); try put("incident", id); try put("rules", rules.map(\.text)); try put("reason", reason)
        case .closed(let i):
            try put("event", "closed"); try put("incident", i.id); try put("name", i.name); try put("estimated_pps", i.estimatedPps)
            try put("distinct_sources", i.distinctSources); try put("false_positive", i.falsePositive)
            try put("known_source_share", i.knownSourceShare)
        case .removed(let ids, let reason):
            try put("event", "removed"); try put("ids", ids); try put("reason", reason)
        case .changed(let rules, let reason):
            try put("event", "changed"); try put("rules", rules.map(\.text)); try put("ids", rules.map(\.id)); try put("reason", reason)
        case .filterMode(let observe):
            try put("event", "filter-mode"); try put("observe", observe)
        case .adopted(let rules):
            try put("event", "adopted"); try put("rules", rules.map(\.text)); try put("ids", rules.map(\.id))
        case .notice(let kind, let message):
            try put("event", "notice"); try put("kind", kind); try put("message", message)
        case .heartbeat(let s):
            try put("event", "heartbeat"); try put("samples", s.samples); try put("stale", s.stale); try put("unparsed", s.unparsed)
            try put("incidents", s.incidents); try put("unexplained_crossings", s.unexplainedCrossings)
            try put("false_positives", s.falsePositives); try put("open_incidents", s.openIncidents); try put("rules", s.rulesInstalled)
            try put("warmed_up", s.warmedUp); try put("filter_packets", s.filterPackets); try put("filter_dropped", s.filterDropped)
            try put("ring_full", s.ringFull); try put("filter_pps", s.filterPps); try put("filter_drop_pps", s.filterDropPps)
            try put("filter_attached", s.filterAttached)
        }
    }
}
