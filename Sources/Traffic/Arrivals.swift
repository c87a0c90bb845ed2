#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How packets are spread over a phase. Both place exactly rate × duration packets in it, so
/// the rate measured from timestamps is the configured one.
public enum ArrivalModel: String, Codable, Hashable, Sendable, CaseIterable {
    /// Packet i of n at (i + u)/n of the phase, u uniform: constant rate with jitter.
    case jittered
    /// The n arrival times of a Poisson process conditioned on n arrivals (sorted uniforms,
    /// drawn in order): bursty gaps, exact count.
    case poisson
}

/// Timestamps for `total` packets across [start, start + span).
struct ArrivalClock {
    var total = 0
    var emitted = 0
    var start: UInt64 = 0
    var span: Double = 0
    var poisson = false
    var position = 0.0

    init() {}

    init(total: Int, start: UInt64, span: UInt64, model: ArrivalModel) {
        self.total = total
        self.start = start
        self.span = Double(span)
        poisson = model == .poisson
    }

    /// The next arrival, or `UInt64.max` when the phase has no more.
    @inline(__always)
    mutating func next(_ rng: inout TrafficRandom) -> UInt64 {
        guard emitted < total else { return .max }
        let frac: Double
        if poisson {
            // Minimum of the remaining k uniforms on [position, 1).
            let k = Double(total - emitted)
            position = 1 - (1 - position) * exp(log(1 - rng.unit()) / k)
            frac = position
        } else {
            frac = (Double(emitted) + rng.unit()) / Double(total)
        }
        emitted += 1
        return start &+ min(UInt64(frac * span), UInt64(span) &- 1)
    }
}
