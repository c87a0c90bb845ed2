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
}

/// What the control plane knows of the live loop. The sidecar's thread writes it through
/// ``record(_:)``; HTTP handlers read it and subscribe to its events. All access is under one
/// mutex, held only to copy.
public final class ControlState: Sendable {
    struct Inner {
        var stats = SidecarStats()
        var calibration: [String: Double]?
        var events: [String] = []
        var incidents: [Int: IncidentSummary] = [:]
        /// Which incident each sidecar rule was installed for (the `installed` events).
        var ruleIncident: [UInt32: Int] = [:]
        var history: TrafficHistory
        var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
        var nextSubscriber = 0
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

    public init(keepEvents: Int = 500, keepIncidents: Int = 200, keepHistory: Int = 600, maxStreams: Int = 64) {
        self.maxStreams = maxStreams
        self.keepEvents = keepEvents
        self.keepIncidents = keepIncidents
        self.keepHistory = keepHistory
        inner = Mutex(Inner(history: TrafficHistory(capacity: keepHistory)))
    }

    /// Takes one event of the live loop (thread-safe; never blocks on readers) and returns it as
    /// the JSON line the API shows, stamped with `at`.
    @discardableResult
    public func record(_ event: SidecarEvent, at date: Date = Date()) -> String {
        let line = EventStamp.stamp(event.json, at: date)
        inner.withLock { s in
            switch event {
            case .heartbeat(let stats):
                s.stats = stats
                s.history.append(TrafficPoint(time_ms: Int64((date.timeIntervalSince1970 * 1000).rounded()), pps: stats.filterPps,
                                              drop_pps: stats.filterDropPps, open_incidents: stats.openIncidents,
                                              rules: stats.rulesInstalled))
            case .calibrated(let open, let close, let pps):
                s.calibration = ["open_threshold": open, "close_threshold": close, "baseline_pps": pps]
                s.stats.warmedUp = true
            case .opened(let i):
                s.incidents[i.id] = IncidentSummary(id: i.id, opened_at_ns: i.openedAt, drift: i.drift)
                if s.incidents.count > keepIncidents, let oldest = s.incidents.keys.min() { s.incidents[oldest] = nil }
            case .installed(let id, let rules, _):
                s.incidents[id]?.rules += rules.map(SidecarEvent.short)
                for r in rules { s.ruleIncident[r.id] = id }
            case .proposed(let id, let rules):
                s.incidents[id]?.rules += rules.map { "(dry run) " + SidecarEvent.short($0) }
            case .refused(let id, _, let reason):
                s.incidents[id]?.refused = reason
            case .closed(let i):
                s.incidents[i.id]?.closed_at_ns = i.closedAt
                s.incidents[i.id]?.name = i.name
                s.incidents[i.id]?.estimated_pps = i.estimatedPps
                s.incidents[i.id]?.distinct_sources = i.distinctSources
                s.incidents[i.id]?.false_positive = i.falsePositive
            case .removed(let ids, _):
                for id in ids { s.ruleIncident[id] = nil }
            case .adopted, .notice:
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

    /// The incident a sidecar rule was installed for, when this run installed it.
    public func incident(ofRule id: UInt32) -> Int? { inner.withLock { $0.ruleIncident[id] } }

    public var stats: SidecarStats { inner.withLock { $0.stats } }
    public var calibration: [String: Double]? { inner.withLock { $0.calibration } }
    /// Newest first.
    public var incidents: [IncidentSummary] { inner.withLock { $0.incidents.values.sorted { $0.id > $1.id } } }
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
