/// Rule ids are split between their owners: operators below ``sidecarBase``, the live loop
/// (`holon run`) from it up, so neither ever touches the other's rules.
public enum RuleOwnership {
    public static let sidecarBase: UInt32 = 1_000_000_000

    public static func isSidecar(_ id: UInt32) -> Bool { id >= sidecarBase }
}

/// What is refused in rules an operator hands to the filter (`holon rules add/load`, the API),
/// each a mistake that would drop far more than meant or collide with the live loop.
public enum OperatorRuleProblem: Error, Hashable, Sendable, CustomStringConvertible {
    case noRules
    case matchesEverything(id: UInt32)
    case idZero
    case sidecarID(UInt32)

    public var description: String {
        switch self {
        case .noRules: return "no rules given"
        case .matchesEverything(let id):
            return "rule \(id) has no predicates and matches every packet; pass --match-all if that is meant"
        case .idZero: return ":id 0 is reserved; use an id from 1"
        case .sidecarID(let id):
            return "rule id \(id) is in the live loop's range (\(RuleOwnership.sidecarBase) and up); operators' rules use ids below it"
        }
    }

    /// The first problem of `rules`, nil when they may be installed. An empty list is fine only
    /// when `allowEmpty` (replacing a table with nothing).
    public static func check(_ rules: [Rule], allowMatchAll: Bool, allowEmpty: Bool = false) -> OperatorRuleProblem? {
        if rules.isEmpty && !allowEmpty { return .noRules }
        for r in rules {
            if r.id == 0 { return .idZero }
            if RuleOwnership.isSidecar(r.id) { return .sidecarID(r.id) }
            if r.predicates.isEmpty && !allowMatchAll { return .matchesEverything(id: r.id) }
        }
        return nil
    }
}
