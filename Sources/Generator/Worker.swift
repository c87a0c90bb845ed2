import CGeneratorShim
import Foundation
import Synchronization

/// One sender thread's loop: phases on the clock, its share of each phase's rate.
enum Worker {
    /// Rate control: the thread owes `floor(rate × elapsed)` packets since the phase began and
    /// sends what it owes in chunks (at most a batch, at least ~200 µs worth), sleeping to an
    /// absolute deadline in between. A backlog over 20 ms (the engine cannot keep up, or the
    /// thread was not scheduled) is forgiven rather than burst, and counted as skipped so the
    /// report says the rate was not held.
    static func run(sender: any FrameSender, state: WorkerState, stop: GeneratorRunStop, thread t: Int, threads: Int, phases: [PhasePlan],
                    pools: [FramePool], start: UInt64, boundaries: [UInt64]) {
        if start > hg_now_ns() { hg_sleep_until_ns(start) }
        let batch = sender.maxBatch
        for (k, phase) in phases.enumerated() {
            let phaseStart = start + boundaries[k]
            let phaseEnd = start + boundaries[k + 1]
            var now = hg_now_ns()
            if now >= phaseEnd {
                // Stalled past the whole phase: all of its share was skipped.
                if let pps = phase.pps, !stop.requested {
                    let owed = UInt64(pps / Double(threads) * Double(phaseEnd - phaseStart) / 1e9)
                    state.phaseSkipped[k] = owed
                    state.skipped.add(owed, ordering: .relaxed)
                }
                continue
            }
            if stop.requested { break }
            state.phase.store(k, ordering: .relaxed)
            let pool = pools[k]
            var sentHere: UInt64 = 0
            var errorsHere: UInt64 = 0
            var skippedHere: UInt64 = 0
            defer {
                state.phaseSent[k] = sentHere
                state.phaseErrors[k] = errorsHere
                state.phaseSkipped[k] = skippedHere
                state.phaseEnd[k] = min(hg_now_ns(), phaseEnd)
            }
            guard pool.count > 0, phase.pps != 0 else {
                while hg_now_ns() < phaseEnd && !stop.requested { hg_sleep_until_ns(min(phaseEnd, hg_now_ns() + 50_000_000)) }
                continue
            }
            var cursor = FrameCursor(pool: pool, start: t * (pool.count / max(threads, 1)),
                                     seed: UInt64(t) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(k + 1))
            let rate = phase.pps.map { $0 / Double(threads) }
            // Packets per chunk when paced: ~200 µs worth, 1…batch.
            let chunk = rate.map { max(1, min(batch, Int($0 * sender.pacingQuantum))) } ?? batch
            // From the phase's start, not from now: a thread that reached it late (a stall in
            // the phase before) owes the time it lost, made up or skipped like any other lag.
            var base = min(now, phaseStart)
            var owedBase: UInt64 = 0  // packets already accounted before `base`
            var failures = 0
            while true {
                now = hg_now_ns()
                if now >= phaseEnd {
                    // A stall across the phase's end leaves packets owed that were never sent:
                    // skipped too, so sent + skipped is what the phase planned (to a chunk).
                    if let rate {
                        let due = UInt64(rate * Double(phaseEnd - base) / 1e9) + owedBase
                        let left = due > sentHere + errorsHere ? due - (sentHere + errorsHere) : 0
                        if left > UInt64(chunk) {
                            skippedHere += left
                            state.skipped.add(left, ordering: .relaxed)
                        }
                    }
                    break
                }
                if stop.requested { break }
                var want = batch
                if let rate {
                    let due = UInt64(rate * Double(now - base) / 1e9) + owedBase
                    if due <= sentHere + errorsHere {
                        // Sleep until a chunk is owed.
                        let target = Double(sentHere + errorsHere - owedBase + UInt64(chunk)) / rate
                        let wake = base + UInt64(target * 1e9)
                        hg_sleep_until_ns(min(wake, phaseEnd))
                        continue
                    }
                    let owed = Int(due - (sentHere + errorsHere))
                    if Double(owed) > max(Double(chunk) * 4, rate * 0.02) {
                        // Behind by more than 20 ms: forgive the backlog.
                        skippedHere += UInt64(owed)
                        state.skipped.add(UInt64(owed), ordering: .relaxed)
                        base = now
                        owedBase = sentHere + errorsHere
                        want = batch
                    } else {
                        want = min(owed, batch)
                    }
                }
                let r = sender.transmit(count: want) { cursor.write(into: $0) }
                sentHere += UInt64(r.sent)
                if r.sent > 0 { state.sent.add(UInt64(r.sent), ordering: .relaxed) }
                if r.errors > 0 {
                    // Errors (a full queue) are counted but not owed again.
                    errorsHere += UInt64(r.errors)
                    state.errors.add(UInt64(r.errors), ordering: .relaxed)
                }
                if let f = r.fatal {
                    failures += 1
                    if failures > 100 {
                        state.fatal = .system("\(sender.kind.rawValue) send on interface", f)
                        stop.request()   // the run's other threads too, not other runs
                        return
                    }
                    usleep(1000)
                } else if r.sent == 0 {
                    usleep(50)
                } else {
                    failures = 0
                }
            }
        }
    }
}
