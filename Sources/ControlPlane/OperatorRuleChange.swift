import Foundation
import Hummingbird
import Rules

/// `POST /api/rules` and `DELETE /api/rules/{id}`: what `holon rules add` and `holon rules del`
/// do, for operators' rules only. The live loop's rules are not an operator's to delete (they
/// go with `release`), and an operator's rule may not take an id from the loop's range: the
/// same checks as the command line (``OperatorRuleProblem``).
public enum OperatorRuleChange {
    /// The body of `POST /api/rules`: one rule in the rule language, as `holon rules add` takes
    /// it (give `:id`; without one it is 1, as on the command line).
    public struct Request: Decodable, Sendable {
        public var rule: String
        /// A rule without predicates matches every packet: refused unless this says it is meant
        /// (`holon rules add --match-all`).
        public var match_all: Bool?
    }

    static let expected = #"{"rule": "(rule (and (= proto udp) (= dst_port 9)) (drop) :id 7)"}"#

    /// What was added.
    public struct Added: Encodable, Equatable, Sendable {
        public var id: UInt32
        public var rule: String
        /// Rules in the table after the change.
        public var rules: Int
    }

    /// The one rule of `request`, parsed and checked; a 400 that says what is wrong otherwise.
    public static func parse(_ request: Request) throws -> Rule {
        let parsed: [Rule]
        do { parsed = try RuleFile.parse(request.rule) } catch {
            throw Refusal(status: .badRequest, message: "rule: \(error)")
        }
        guard parsed.count <= 1 else { throw Refusal(status: .badRequest, message: "rule: one rule per request, got \(parsed.count)") }
        if let problem = OperatorRuleProblem.check(parsed, allowMatchAll: request.match_all ?? false) {
            if case .matchesEverything(let id) = problem {
                throw Refusal(status: .badRequest, message: #"rule \#(id) has no predicates and matches every packet; add "match_all": true if that is meant"#)
            }
            throw Refusal(status: .badRequest, message: "rule: \(problem)")
        }
        return parsed[0]
    }

    /// Adds `rule` to `filter`'s table; a rule with its id there already is a conflict.
    public static func add(_ rule: Rule, to filter: any FilterSource) throws -> Added {
        let table = try RuleChange.verified(filter)
        guard !table.contains(where: { $0.id == rule.id }) else {
            throw Refusal(status: .conflict, message: "rule \(rule.id) is in the filter already (DELETE /api/rules/\(rule.id) first, or give another :id)")
        }
        try RuleChange.change(filter) { $0 + [rule] }
        return Added(id: rule.id, rule: rule.text, rules: filter.filterRules.count)
    }

    /// Deletes operator rule `id` from `filter`'s table.
    public static func remove(_ id: UInt32, from filter: any FilterSource) throws -> RuleChange.Outcome {
        let table = try RuleChange.verified(filter)
        guard table.contains(where: { $0.id == id }) else {
            throw Refusal(status: .notFound, message: "no rule \(id) in the filter")
        }
        guard !RuleOwnership.isSidecar(id) else {
            throw Refusal(status: .conflict, message: "rule \(id) is the live loop's, not an operator's: take it out with POST /api/rules/\(id)/release")
        }
        try RuleChange.change(filter) { current in current.filter { $0.id != id } }
        return RuleChange.Outcome(id: id, action: "delete", changed: true, rule: nil, rules: filter.filterRules.count)
    }
}
