/// What a matching rule does to a packet.
public enum Action: Hashable, Sendable {
    /// Drop every matching packet.
    case drop
    /// Pass up to `pps` matching packets per second, with bursts up to `burst` packets
    /// (nil: ``TokenBucket/defaultBurst(pps:)``, a tenth of a second's worth); drop the rest.
    /// The budget is the rule's, shared by every packet the rule matches.
    case rateLimit(pps: UInt64, burst: UInt64?)
    /// Pass, and stop looking: a higher-priority `pass` carves an exception out of a broader drop.
    case pass
    /// Pass and count (observe a rule before enforcing it).
    case count

    /// The burst the token bucket uses: the explicit one or the documented default.
    public var effectiveBurst: UInt64? {
        guard case .rateLimit(let pps, let burst) = self else { return nil }
        return burst ?? TokenBucket.defaultBurst(pps: pps)
    }
}
