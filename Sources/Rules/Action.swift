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
    /// Authenticate connection requests by retransmission (``ConnectionAuth``): the first SYN of
    /// a (source, destination, source port, destination port) is dropped and remembered; the
    /// same SYN again between ``ConnectionAuth/minRetransmitGapNs`` and
    /// ``ConnectionAuth/maxRetransmitGapNs`` later authenticates the (source, destination,
    /// destination port), whose SYNs then pass. A spoofed flood never retransmits, a real TCP
    /// stack always does (1 s on Linux). Only on rules that match SYNs without ACK.
    case synAuth
    /// Pass only packets of connections the host has: their 4-tuple was seen leaving the host
    /// (reversed) by the egress half of the filter. Only on TCP rules that cannot match a
    /// connection request (SYN without ACK), which has no connection yet.
    case flowCheck

    /// The burst the token bucket uses: the explicit one or the documented default.
    public var effectiveBurst: UInt64? {
        guard case .rateLimit(let pps, let burst) = self else { return nil }
        return burst ?? TokenBucket.defaultBurst(pps: pps)
    }

    /// The text keyword of an action without arguments.
    public var keyword: String {
        switch self {
        case .drop: return "drop"
        case .pass: return "pass"
        case .count: return "count"
        case .rateLimit: return "rate-limit"
        case .synAuth: return "syn-auth"
        case .flowCheck: return "flow-check"
        }
    }
}
