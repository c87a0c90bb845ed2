/// One second of traffic through the filter, as the dashboard's chart plots it.
public struct TrafficPoint: Sendable, Codable, Hashable {
    /// Unix milliseconds of the heartbeat that measured it.
    public var time_ms: Int64
    public var pps: Double
    public var drop_pps: Double
    public var open_incidents: Int
    public var rules: Int
}

/// The last points of the time series, oldest first, in a ring of fixed size: memory stays
/// bounded however long `holon run` lives, and a dashboard opened late still has a chart.
struct TrafficHistory: Sendable {
    let capacity: Int
    private var ring: [TrafficPoint] = []
    private var next = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    mutating func append(_ p: TrafficPoint) {
        if ring.count < capacity { ring.append(p); return }
        ring[next] = p
        next = (next + 1) % capacity
    }

    /// Oldest first.
    var points: [TrafficPoint] { Array(ring[next...] + ring[..<next]) }

    /// The points at or after `since` (Unix ms), oldest first.
    func points(since: Int64) -> [TrafficPoint] { points.filter { $0.time_ms >= since } }
}
