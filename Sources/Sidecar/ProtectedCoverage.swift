import Packets

/// Samples whose destination is outside `protected` are neither learned nor judged. With none
/// inside — `protected` naming another network than the one the traffic goes to — the loop
/// learned and defended nothing, and said only "(learning)" in every heartbeat, for ever (seen
/// on a veth pair: 68,009 samples, all outside, no word). An `outside-protected` notice now
/// says so, with where the traffic went: after a minute of samples none of which was inside,
/// then every 10 minutes while it lasts. Traffic partly inside (a router that protects one
/// network of several) is not a mistake and is not said.
struct ProtectedCoverage {
    static let window: UInt64 = 60_000_000_000
    static let quiet: UInt64 = 600_000_000_000
    /// Fewer samples than this in a window say nothing (a quiet link is not a mistake).
    static let evidence = 1_000
    /// Distinct destinations counted at most (a flood of random destinations must not grow it).
    static let tracked = 1_024

    private var inside = 0
    private var outside = 0
    private var destinations: [IPAddress: Int] = [:]
    private var windowStart: UInt64?
    private var saidAt: UInt64?

    struct Report: Equatable {
        var samples: Int
        /// The busiest destinations, most samples first.
        var top: [(address: IPAddress, samples: Int)]

        static func == (a: Report, b: Report) -> Bool {
            a.samples == b.samples && a.top.map(\.address) == b.top.map(\.address) && a.top.map(\.samples) == b.top.map(\.samples)
        }

        func message(protected: [IPPrefix]) -> String {
            let to = top.map { "\($0.address) (\($0.samples))" }.joined(separator: ", ")
            return "none of the last \(samples) samples went to the protected prefixes (\(protected.map(\.description).joined(separator: ", "))): "
                + "the loop learns and defends nothing; the traffic went to \(to)\(top.count == 3 ? " and others" : ""): check protected in the configuration"
        }
    }

    mutating func count(_ destination: IPAddress, inside isInside: Bool) {
        if isInside {
            inside += 1
            return
        }
        outside += 1
        // Where the traffic went matters only to a window with nothing inside: once one sample
        // was, no lookup more per sample (a router protecting one network of several).
        guard inside == 0 else { return }
        if destinations[destination] != nil || destinations.count < Self.tracked { destinations[destination, default: 0] += 1 }
    }

    /// At a heartbeat: a report when a window of samples ended with none inside, and it is time.
    mutating func note(now: UInt64) -> Report? {
        guard let start = windowStart else {
            windowStart = now
            return nil
        }
        guard now &- start >= Self.window else { return nil }
        defer {
            windowStart = now
            inside = 0
            outside = 0
            destinations = [:]
        }
        guard inside == 0, outside >= Self.evidence, saidAt.map({ now &- $0 >= Self.quiet }) ?? true else { return nil }
        saidAt = now
        let top = destinations.sorted { ($0.value, $1.key.description) > ($1.value, $0.key.description) }.prefix(3)
        return Report(samples: outside, top: top.map { ($0.key, $0.value) })
    }
}
