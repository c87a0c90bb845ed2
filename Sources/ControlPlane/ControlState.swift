import Flowspec
import Detection
import Foundation
import Sidecar
import Synchronization

/// One incident as the API shows it.
public struct IncidentSummary: Sendable, Codable, Hashable {
    public var id: Int
    public var opened_at_ns: UInt64
    @NullWhenAbsent public var closed_at_ns: UInt64? = nil
    public var drift: Double
    @NullWhenAbsent public var name: String? = nil
    @NullWhenAbsent public var estimated_pps: Double? = nil
    @NullWhenAbsent public var distinct_sources: Int? = nil
    /// Rules installed for it (rule-language text, without provenance).
    public var rules: [String] = []
    /// Rules refused by a guardrail, with why.
    @NullWhenAbsent public var refused: String? = nil
    /// Why its rules were judged to hit legitimate users and released, when they were.
    @NullWhenAbsent public var false_positive: String? = nil
    /// Of the samples its rules dropped, the share from sources normal traffic had (known at close).
    @NullWhenAbsent public var known_source_share: Double? = nil
    /// The interface whose loop saw it, when `holon run` protects several.
    @NullWhenAbsent public var interface: String? = nil
}

/// What the control plane knows of the live loop — of each loop, when `holon run` protects
/// several interfaces: their events carry a `source` (the interface), their counters add up,
/// their incidents (each loop numbers its own) are told apart. The sidecars' threads write it
/// through ``record(_:at:source:)``; HTTP handlers read it and subscribe to its events. All
/// access is under one mutex, held only to copy.
public final class ControlState: Sendable {
    struct IncidentKey: Hashable {
        var source: String
        var id: Int
    }

    struct Inner {
        var statsBySource: [String: SidecarStats] = [:]
        /// When each loop last beat.
        var beatBySource: [String: Date] = [:]
        var calibration: [String: Double]?
        var events: [String] = []
        var incidents: [IncidentKey: IncidentSummary] = [:]
        /// Which incident each sidecar rule was installed for, by loop (interface) and rule id.
        var ruleIncident: [InterfaceRule: Int] = [:]
        /// The loop whose heartbeats pace the history.
        var primary: String?
        var history: TrafficHistory
        var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
        var nextSubscriber = 0
        /// The Flowspec announcer's table (nil: no BGP).
        var announcements: (@Sendable () -> [Announcement])?
    }

    /// Where `/api/announcements` reads each rule's state at the BGP speaker.
    public func follow(announcements: @escaping @Sendable () -> [Announcement]) {
        inner.withLock { $0.announcements = announcements }
    }

    /// Each rule's announcement state, nil when Holon announces nothing.
    public var announcements: [Announcement]? {
        inner.withLock { $0.announcements }?()
    }

    let inner: Mutex<Inner>
    /// Events kept for late subscribers and `/api/events?follow=false`.
    public let keepEvents: Int
    /// Incidents kept (the newest).
    public let keepIncidents: Int
    public let startedAt = Date()

    /// Points of the traffic history kept: one per heartbeat (a second), 10 minutes by default.
    public let keepHistory: Int

    /// Event streams open at once, at most: each holds a connection and a buffer for as long
    /// as its client likes, so their number is bounded like everything else here.
    public let maxStreams: Int

    /// `primarySource`: the loop whose heartbeats pace the history, when there are several;
    /// nil takes the first that reports.
    public init(keepEvents: Int = 500, keepIncidents: Int = 200, keepHistory: Int = 600, maxStreams: Int = 64,
                primarySource: String? = nil) {
        self.maxStreams = maxStreams
        self.keepEvents = keepEvents
        self.keepIncidents = keepIncidents
        self.keepHistory = keepHistory
        inner = Mutex(Inner(primary: primarySource, history: TrafficHistory(capacity: keepHistory)))
    }

    /// Takes one event of a live loop (thread-safe; never blocks on readers) and returns it as
    /// the JSON line the API shows, stamped with `at` (and `interface`: `source`, if given).
    @discardableResult
    public func record(_ event: SidecarEvent, at date: Date = Date(), source: String? = nil) -> String {
        let line = EventStamp.stamp(event, at: date, interface: source)
        let from = source ?? ""
        inner.withLock { s in
            if s.primary == nil { s.primary = from }
            let primary = s.primary == from
            func key(_ id: Int) -> IncidentKey { IncidentKey(source: from, id: id) }
            switch event {
            case .heartbeat(let stats):
                s.statsBySource[from] = stats
                s.beatBySource[from] = date
                // One point a second: the primary loop's heartbeat, with every loop's latest counters.
                if primary {
                    let all = SidecarStats.sum(Array(s.statsBySource.values))
                    s.history.append(TrafficPoint(time_ms: Int64((date.timeIntervalSince1970 * 1000).rounded()), pps: all.filterPps,
                                                  drop_pps: all.filterDropPps, open_incidents: all.openIncidents,
                                                  rules: all.rulesInstalled))
                }
            case .calibrated(let open, let close, let pps):
                s.calibration = ["open_threshold": open, "close_threshold": close, "baseline_pps": pps]
                s.statsBySource[from, default: SidecarStats()].warmedUp = true
            case .opened(let i):
                s.incidents[key(i.id)] = IncidentSummary(id: i.id, opened_at_ns: i.openedAt, drift: i.drift, interface: source)
                if s.incidents.count > keepIncidents,
                   let oldest = s.incidents.min(by: { ($0.value.opened_at_ns, $0.key.id) < ($1.value.opened_at_ns, $1.key.id) }) {
                    s.incidents[oldest.key] = nil
                }
            case .installed(let id, let rules, _):
                s.incidents[key(id)]?.rules += rules.map(SidecarEvent.short)
                for r in rules { s.ruleIncident[InterfaceRule(interface: from, id: r.id)] = id }
            case .proposed(let id, let rules):
                s.incidents[key(id)]?.rules += rules.map { "(dry run) " + SidecarEvent.short($0) }
            case .refused(let id, _, let reason):
                s.incidents[key(id)]?.refused = reason
            case .closed(let i):
                s.incidents[key(i.id)]?.closed_at_ns = i.closedAt
                s.incidents[key(i.id)]?.name = i.name
                s.incidents[key(i.id)]?.estimated_pps = i.estimatedPps
                s.incidents[key(i.id)]?.distinct_sources = i.distinctSources
                s.incidents[key(i.id)]?.false_positive = i.falsePositive
                s.incidents[key(i.id)]?.known_source_share = i.knownSourceShare
            case .removed(let ids, _):
                for id in ids { s.ruleIncident[InterfaceRule(interface: from, id: id)] = nil }
            case .adopted, .changed, .filterMode, .notice:
                break
            }
            s.events.append(line)
            if s.events.count > keepEvents { s.events.removeFirst(s.events.count - keepEvents) }
            for c in s.subscribers.values { c.yield(line) }
        }
        return line
    }

    /// The traffic history, oldest first; `since` (Unix ms) keeps the points at or after it.
    public func history(since: Int64 = .min) -> [TrafficPoint] { inner.withLock { $0.history.points(since: since) } }

    /// The incident a sidecar rule was installed for, when this run installed it; `source`: the
    /// loop's interface, when there are several.
    public func incident(ofRule id: UInt32, source: String? = nil) -> Int? {
        inner.withLock { $0.ruleIncident[InterfaceRule(interface: source ?? "", id: id)] }
    }

    /// Every loop's counters added up (one loop: its own).
    public var stats: SidecarStats { inner.withLock { SidecarStats.sum(Array($0.statsBySource.values)) } }

    /// The oldest of the loops' latest heartbeats (nil before the first): a loop that stopped
    /// beating (stuck) shows here while the server goes on answering.
    public var oldestHeartbeat: Date? { inner.withLock { $0.beatBySource.values.min() } }
    public var calibration: [String: Double]? { inner.withLock { $0.calibration } }
    /// Newest first.
    public var incidents: [IncidentSummary] {
        inner.withLock { $0.incidents.values.sorted { ($0.opened_at_ns, $0.id) > ($1.opened_at_ns, $1.id) } }
    }
    public var recentEvents: [String] { inner.withLock { $0.events } }

    /// The events kept so far, then every new one as it happens, until the consumer stops.
    public func subscribe() -> (replay: [String], stream: AsyncStream<String>) {
        subscribe(limited: false)!
    }

    /// ``subscribe()``, or nil when ``maxStreams`` streams are open already.
    public func subscribeIfRoom() -> (replay: [String], stream: AsyncStream<String>)? {
        subscribe(limited: true)
    }

    private func subscribe(limited: Bool) -> (replay: [String], stream: AsyncStream<String>)? {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let taken = inner.withLock { s -> (Int, [String])? in
            if limited && s.subscribers.count >= maxStreams { return nil }
            let id = s.nextSubscriber
            s.nextSubscriber += 1
            s.subscribers[id] = continuation
            return (id, s.events)
        }
        guard let (id, replay) = taken else { return nil }
        continuation.onTermination = { [weak self] _ in
            _ = self?.inner.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return (replay, stream)
    }

    public var subscriberCount: Int { inner.withLock { $0.subscribers.count } }

    /// Ends every subscription (shutting down).
    public func finishSubscriptions() {
        let all = inner.withLock { s -> [AsyncStream<String>.Continuation] in
            defer { s.subscribers.removeAll() }
            return Array(s.subscribers.values)
        }
        for c in all { c.finish() }
    }
}
