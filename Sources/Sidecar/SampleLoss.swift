/// Samples the filter took and its ring had no room for (`ring_full`): the loop read too slowly
/// (a flood at a low `sample_every`, a slow machine), so the detector saw less traffic than
/// passed and its rates came out low. Counted in the heartbeat only, it went unsaid; now a
/// `samples-lost` notice says so at the first loss and then at most once a minute.
struct SampleLoss {
    /// The filter's counters at the last beat (nil before the first: losses from before this
    /// run are not its own).
    private var seen: (ringFull: UInt64, sampled: UInt64)?
    private var lost: UInt64 = 0
    private var taken: UInt64 = 0
    private var saidAt: UInt64?
    static let quiet: UInt64 = 60_000_000_000

    struct Report: Equatable {
        var lost: UInt64
        var taken: UInt64
        /// Seconds since the last report, nil for the first.
        var seconds: UInt64?

        func message(sampleEvery: UInt32) -> String {
            let share = Double(lost) / Double(max(taken, 1)) * 100
            let since = seconds.map { "in the last \($0) s" } ?? "since the last heartbeat"
            return "the sample ring overflowed: \(lost) of \(taken) samples (\(share < 0.1 ? "<0.1" : String(format: "%.1f", share)) %) lost \(since); "
                + "the loop reads too slowly, so the detector sees less of the traffic than passed and its rates come out low: "
                + "raise run.sample_every (now 1 in \(sampleEvery))"
        }
    }

    /// The filter's counters at a heartbeat; a report when samples were lost and it is time.
    mutating func note(now: UInt64, ringFull: UInt64, sampled: UInt64) -> Report? {
        defer { seen = (ringFull, sampled) }
        // Counters that went back are another filter's (attached anew): start over from them.
        guard let before = seen, ringFull >= before.ringFull, sampled >= before.sampled else { return nil }
        lost += ringFull - before.ringFull
        taken += (ringFull - before.ringFull) + (sampled - before.sampled)
        let quietFor = saidAt.map { now - $0 < Self.quiet } ?? false
        guard lost > 0 else {
            // A quiet minute with no loss: the next loss is said at once, over its own beat.
            if !quietFor {
                saidAt = nil
                taken = 0
            }
            return nil
        }
        if quietFor { return nil }
        let report = Report(lost: lost, taken: taken, seconds: saidAt.map { (now - $0) / 1_000_000_000 })
        saidAt = now
        lost = 0
        taken = 0
        return report
    }
}
