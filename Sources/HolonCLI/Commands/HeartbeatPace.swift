import Foundation

/// Which heartbeats `holon run` writes to a log (not a terminal): one every 10 s for each
/// interface. Picked by the wall clock's second alone, two beats landing in the same second
/// (a beat comes every 1.0x s, and one right after a re-attach) both went to the log.
final class HeartbeatPace: @unchecked Sendable {
    private let lock = NSLock()
    private let start: Date
    private let every: Int
    private var lastBucket: [String: Int] = [:]

    init(start: Date, every seconds: Int = 10) {
        self.start = start
        every = seconds
    }

    /// True for the first beat of `source` in each `every`-second window since `start`.
    func due(_ source: String?, at now: Date = Date()) -> Bool {
        let bucket = Int(now.timeIntervalSince(start)) / every
        return lock.withLock {
            guard lastBucket[source ?? ""] != bucket else { return false }
            lastBucket[source ?? ""] = bucket
            return true
        }
    }
}
