/// The rate limiter of a `rate-limit` rule, driven only by packet timestamps (never the wall
/// clock), in integer arithmetic so the Swift reference and the XDP program compute the same
/// verdict for the same packet sequence, bit for bit.
///
/// Units: one token = 10⁹ nanotokens, so a rate of `pps` tokens per second is exactly `pps`
/// nanotokens per nanosecond and refill needs no division.
///
/// Algorithm (the XDP program mirrors it line by line):
/// 1. The first packet finds the bucket full (`capacity = burst × 10⁹`) and sets `last`.
/// 2. Later packets refill `pps × (now − last)` nanotokens, capped at capacity. Overflow is
///    impossible: if `now − last > (capacity − tokens) / pps` the bucket is simply full,
///    otherwise the product is at most `capacity − tokens`.
///    A timestamp earlier than `last` (reordering across CPUs) refills nothing and does not
///    move `last` back.
/// 3. A packet that finds ≥ 1 token (10⁹ nanotokens) passes and takes it; otherwise it is dropped.
public struct TokenBucket: Hashable, Sendable {
    public static let nanotokensPerToken: UInt64 = 1_000_000_000
    /// The largest burst, so that `burst × 10⁹` fits in 64 bits with room to spare.
    public static let maxBurst: UInt64 = 1_000_000_000

    /// Default burst: a tenth of a second's worth of packets, at least one. Large enough to
    /// absorb the jitter of a legitimate flow sent at the limit, small enough that an attack
    /// gets no more than 100 ms of free traffic.
    public static func defaultBurst(pps: UInt64) -> UInt64 {
        min(max(1, pps / 10), maxBurst)
    }

    public let pps: UInt64
    /// Capacity in nanotokens.
    public let capacity: UInt64
    /// Tokens held, in nanotokens (≤ capacity).
    public private(set) var tokens: UInt64
    /// Timestamp (ns) of the latest refill.
    public private(set) var last: UInt64
    public private(set) var started = false

    /// `burst` is clamped to ``maxBurst``.
    public init(pps: UInt64, burst: UInt64) {
        self.pps = pps
        self.capacity = min(burst, Self.maxBurst) * Self.nanotokensPerToken
        self.tokens = capacity
        self.last = 0
    }

    /// Offers one packet stamped `now` (ns); true if it passes.
    public mutating func take(at now: UInt64) -> Bool {
        if !started {
            started = true
            last = now
            tokens = capacity
        } else if now > last {
            let elapsed = now - last
            last = now
            let room = capacity - tokens
            if pps != 0 {
                if elapsed > room / pps { tokens = capacity } else { tokens += pps * elapsed }
            }
        }
        if tokens >= Self.nanotokensPerToken {
            tokens -= Self.nanotokensPerToken
            return true
        }
        return false
    }
}
