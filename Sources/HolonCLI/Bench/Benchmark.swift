import Foundation

/// One named operation to time. `body(n)` performs the operation `n` times; the harness picks `n`
/// so one sample lasts long enough for the clock, and reports the median time per operation.
struct Benchmark {
    let name: String
    /// Smallest useful batch: 1 for operations that already take milliseconds.
    var minimumIterations: Int = 1
    /// Work done once before timing (building inputs); its result is captured by `body`.
    let body: (Int) -> Void

    init(_ name: String, minimumIterations: Int = 1, body: @escaping (Int) -> Void) {
        self.name = name
        self.minimumIterations = minimumIterations
        self.body = body
    }
}

struct BenchResult: Codable {
    let name: String
    let median_ns: Double
    let iterations: Int
    /// A derived figure when the benchmark reports a rate rather than a time.
    var value: Double? = nil
}

/// Keeps a value alive and opaque to the optimiser so timed work is not removed.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// The median (the mean of the two middle values for an even count); NaN for none.
func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Times benchmarks: calibrates a batch size to ~`sampleTarget`, then takes `samples` samples and
/// reports the median per-operation time.
struct BenchRunner {
    var samples = 21
    var sampleTargetNanoseconds: UInt64 = 20_000_000
    /// Total time budget per benchmark; fewer samples are taken when one op is slow.
    var budgetNanoseconds: UInt64 = 2_000_000_000
    /// The clock samples are timed with: monotonic wall time, or the thread's CPU time.
    var clock = CLOCK_MONOTONIC

    func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    func run(_ benchmark: Benchmark) -> BenchResult {
        // Warm up and calibrate: double n until a batch takes at least the target.
        var n = max(1, benchmark.minimumIterations)
        var elapsed: UInt64 = 0
        while true {
            let t0 = now()
            benchmark.body(n)
            elapsed = now() - t0
            if elapsed >= sampleTargetNanoseconds || n >= 1 << 40 { break }
            let scale = elapsed == 0 ? 16 : min(16, max(2, Int(sampleTargetNanoseconds / max(elapsed, 1)) + 1))
            n *= scale
        }
        let maxSamples = max(3, min(samples, Int(budgetNanoseconds / max(elapsed, 1))))
        var perOp: [Double] = []
        perOp.reserveCapacity(maxSamples)
        for _ in 0..<maxSamples {
            let t0 = now()
            benchmark.body(n)
            let dt = now() - t0
            perOp.append(Double(dt) / Double(n))
        }
        perOp.sort()
        return BenchResult(name: benchmark.name, median_ns: perOp[perOp.count / 2], iterations: n * maxSamples)
    }
}
