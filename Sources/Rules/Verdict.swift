/// What the matcher decided for one packet.
public struct Verdict: Hashable, Sendable {
    public enum Decision: UInt8, Hashable, Sendable {
        /// No rule matched, a `pass` rule matched, or a `rate-limit` rule had a token.
        case pass = 0
        /// A `drop` rule matched.
        case drop = 1
        /// A `rate-limit` rule matched and its bucket was empty: dropped.
        case rateLimited = 2
        /// A `count` rule matched: counted, passed.
        case counted = 3
    }

    /// The winning rule, nil when none matched.
    public var ruleID: UInt32?
    public var decision: Decision

    public init(ruleID: UInt32?, decision: Decision) {
        self.ruleID = ruleID
        self.decision = decision
    }

    /// True when the packet goes on (pass or counted).
    public var passes: Bool { decision == .pass || decision == .counted }
}

/// Per-rule counters kept by ``RuleTable``.
public struct RuleCounters: Hashable, Sendable {
    /// Packets the rule won.
    public var hits: UInt64 = 0
    /// Of those, packets dropped (by `drop`, or by `rate-limit` over budget).
    public var drops: UInt64 = 0

    public init(hits: UInt64 = 0, drops: UInt64 = 0) {
        self.hits = hits
        self.drops = drops
    }

    public var passes: UInt64 { hits - drops }
}

/// Why a set of rules cannot become a table.
public enum RuleTableError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicateID(UInt32)
    case invalidRule(id: UInt32, RuleValidationError)

    public var description: String {
        switch self {
        case .duplicateID(let id): return "two rules have id \(id)"
        case .invalidRule(let id, let e): return "rule \(id): \(e)"
        }
    }
}
