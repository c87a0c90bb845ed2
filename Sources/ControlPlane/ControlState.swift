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
        var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
        var nextSubscriber = 0
    }

    let inner = Mutex(Inner())
    /// Events kept for late subscribers and `/api/events?follow=false`.
    public let keepEvents: Int
    /// Incidents kept (the newest).
    public let keepIncidents: Int
    public let startedAt = Date()

    public init(keepEvents: Int = 500, keepIncidents: Int = 200) {
        self.keepEvents = keepEvents
        self.keepIncidents = keepIncidents
    }

    /// Takes one event of the live loop (thread-safe; never blocks on readers).
    public func record(_ event: SidecarEvent) {
        let line = event.json
        inner.withLock { s in
            switch event {
            case .heartbeat(let stats):
                s.stats = stats
            case .calibrated(let open, let close, let pps):
                s.calibration = ["open_threshold": open, "close_threshold": close, "baseline_pps": pps]
                s.stats.warmedUp = true
            case .opened(let i):
                s.incidents[i.id] = IncidentSummary(id: i.id, opened_at_ns: i.openedAt, drift: i.drift)
                if s.incidents.count > keepIncidents, let oldest = s.incidents.keys.min() { s.incidents[oldest] = nil }
            case .installed(let id, let rules, _):
                s.incidents[id]?.rules += rules.map(SidecarEvent.short)
            case .proposed(let id, let rules):
                s.incidents[id]?.rules += rules.map { "(dry run) " + SidecarEvent.short($0) }
            case .refused(let id, _, let reason):
                s.incidents[id]?.refused = reason
            case .closed(let i):
                s.incidents[i.id]?.closed_at_ns = i.closedAt
                s.incidents[i.id]?.name = i.name
                s.incidents[i.id]?.estimated_pps = i.estimatedPps
                s.incidents[i.id]?.distinct_sources = i.distinctSources
            case .removed, .adopted, .notice:
                break
            }
            s.events.append(line)
            if s.events.count > keepEvents { s.events.removeFirst(s.events.count - keepEvents) }
            for c in s.subscribers.values { c.yield(line) }
        }
    }

    public var stats: SidecarStats { inner.withLock { $0.stats } }
    public var calibration: [String: Double]? { inner.withLock { $0.calibration } }
    /// Newest first.
    public var incidents: [IncidentSummary] { inner.withLock { $0.incidents.values.sorted { $0.id > $1.id } } }
    public var recentEvents: [String] { inner.withLock { $0.events } }

    /// The events kept so far, then every new one as it happens, until the consumer stops.
    public func subscribe() -> (replay: [String], stream: AsyncStream<String>) {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let (id, replay) = inner.withLock { s -> (Int, [String]) in
            let id = s.nextSubscriber
            s.nextSubscriber += 1
            s.subscribers[id] = continuation
            return (id, s.events)
        }
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
