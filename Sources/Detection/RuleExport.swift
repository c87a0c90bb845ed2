import Packets
import Rules

extension DetectedRule {
    /// The rule in the shared model: what the data plane installs and the rule language prints.
    /// A pass rule (an exception, ``DetectedRule/passes``) gets one priority above `priority`,
    /// so that it wins over the rule it carves from.
    public func rule(priority: Int32 = 100, ttlSeconds: UInt32? = 60, name: String? = nil) -> Rule {
        Rule(
            id: id,
            match: predicates.map(\.predicate),
            action: passes ? .pass : authentication?.action ?? rateLimitPps.map { .rateLimit(pps: $0, burst: nil) } ?? .drop,
            priority: passes ? priority &+ 1 : priority,
            ttlSeconds: ttlSeconds,
            name: name,
            explanation: explanation,
            createdAt: derivedAt)
    }
}

extension DetectedRule {
    /// The rule in the rule language without its provenance (`:created`, `:explain`): for tables.
    public var shortText: String {
        var r = rule()
        r.explanation = nil
        r.createdAt = nil
        return r.text
    }
}

extension Candidate {
    var predicate: Predicate {
        switch kind {
        case .equals(let v): return .equals(field, v)
        case .prefix(let net, let len): return .prefix(field, .v4(net), length: UInt8(len))
        case .range(let lo, let hi): return .range(field, lo...hi)
        case .bytes(let b): return .bytes(b)
        case .address(let a): return a.isV4 ? .equals(field, UInt64(a.fieldValue)) : .prefix(field, a, length: 128)
        }
    }
}
