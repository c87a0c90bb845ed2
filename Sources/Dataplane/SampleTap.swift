import Foundation

/// Copies of the live loop's samples for whoever asks (`GET /api/capture`). The sample ring has
/// one read position, so a second reader would take samples from the loop's detector; the loop
/// hands them on instead, and keeps their bytes only while a capture waits.
public final class SampleTap: @unchecked Sendable {
    private let lock = NSLock()
    private var collectors: [Collector] = []

    final class Collector {
        let count: Int
        let since: UInt64
        var samples: [DataplaneSample] = []
        init(count: Int, since: UInt64) {
            self.count = count
            self.since = since
        }
        var full: Bool { samples.count >= count }
    }

    public init() {}

    /// Whether a capture waits: the loop then reads its samples' bytes too.
    public var wanted: Bool { lock.withLock { !collectors.isEmpty } }

    /// The loop's samples as it read them. Those read before a capture began, or without their
    /// bytes (read before the loop saw it waiting), are not its.
    public func offer(_ batch: [DataplaneSample]) {
        lock.withLock {
            for c in collectors where !c.full {
                for s in batch where s.timestamp >= c.since && !s.bytes.isEmpty {
                    c.samples.append(s)
                    if c.full { break }
                }
            }
        }
    }

    /// Up to `count` samples stamped from `since` on (nanoseconds since the Unix epoch, the
    /// samples' clock), waiting at most `seconds` for them.
    public func collect(count: Int, seconds: Double, since: UInt64) async -> [DataplaneSample] {
        let c = Collector(count: count, since: since)
        lock.withLock { collectors.append(c) }
        defer { lock.withLock { collectors.removeAll { $0 === c } } }
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !lock.withLock({ c.full }) && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return lock.withLock { c.samples }
    }
}
