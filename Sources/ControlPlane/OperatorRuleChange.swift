import Foundation
import Hummingbird
import Rules

/// `POST /api/rules` and `DELETE /api/rules/{id}`: what `holon rules add` and `holon rules del`
/// do, for operators' rules only. The live loop's rules are not an operator's to delete (they
/// go with `release`), and an operator's rule may not take an id from the loop's range: the
/// same checks as the command line (``OperatorRuleProblem``).
public enum OperatorRuleChange {
    /// The body of `POST /api/rules`: one rule in the rule language, as `holon rules add` takes
    /// it; without `:id` it gets the next id free in every filter it goes to.
    public struct Request: Decodable, Sendable {
        public var rule: String
        /// A rule without predicates matches every packet: refused unless this says it is meant
        /// (`holon rules add --match-all`).
        public var match_all: Bool?
        /// The interface whose filter takes it, when the run protects several (nil: every one,
        /// as the configuration's static rules).
        public var interface: String?
    }

    static let expected = #"{"rule": "(rule (and (= proto udp) (= dst_port 9)) (drop) :id 7)"}"#

    /// What was added.
    public struct Added: Encodable, Equatable, Sendable {
        public var id: UInt32
        public var rule: String
        /// Rules in the table after the change (in the first filter changed).
        public var rules: Int
        /// The interfaces whose filters took it, when the run protects several.
        @NullWhenAbsent public var interfaces: [String]? = nil
    }

    /// What a delete did, in each filter it changed.
    public struct Removed: Encodable, Equatable, Sendable {
        public var id: UInt32
        public var action = "delete"
        public var changed = true
        /// The rule after the change: none.
        @NullWhenAbsent public var rule: String? = nil
        /// Rules in the table after the change (in the first filter changed).
        public var rules: Int
        /// The interfaces whose filters it left, when the run protects several.
        @NullWhenAbsent public var interfaces: [String]? = nil
    }

    /// The one rule of `request`, parsed and checked; a 400 that says what is wrong otherwise.
    public static func parse(_ request: Request) throws -> RuleFile.Entry {
        let entries: [RuleFile.Entry]
        do { entries = try RuleFile.entries(request.rule) } catch {
            throw Refusal(status: .badRequest, message: "rule: \(error)")
        }
        guard entries.count <= 1 else { throw Refusal(status: .badRequest, message: "rule: one rule per request, got \(entries.count)") }
        let parsed = RuleFile.numbered(entries, besides: [])
        if let problem = OperatorRuleProblem.check(parsed, allowMatchAll: request.match_all ?? false) {
            if case .matchesEverything(let id) = problem {
                throw Refusal(status: .badRequest, message: #"rule \#(id) has no predicates and matches every packet; add "match_all": true if that is meant"#)
            }
            throw Refusal(status: .badRequest, message: "rule: \(problem)")
        }
        return entries[0]
    }

    /// Adds `entry`'s rule to the table of each of `filters`, under the id it was written with,
    /// else the next one free in all of them (so one DELETE takes it out of each); a written id
    /// one of them holds already is a conflict, and then none is changed.
    public static func add(_ entry: RuleFile.Entry, to filters: [FilterGroup.Member]) throws -> Added {
        let tables = try filters.map { try RuleChange.verified($0.source) }
        let taken = Set(tables.joined().map(\.id))
        let rule = RuleFile.numbered([entry], besides: taken, below: RuleOwnership.sidecarBase)[0]
        for (m, table) in zip(filters, tables) {
            guard !table.contains(where: { $0.id == rule.id }) else {
                let there = m.name.map { " of \($0)" } ?? ""
                throw Refusal(status: .conflict, message: "rule \(rule.id) is in the filter\(there) already (DELETE /api/rules/\(rule.id) first, or leave out :id to get a free one)")
            }
        }
        try change(filters) { $0 + [rule] }
        return Added(id: rule.id, rule: rule.text, rules: filters[0].source.filterRules.count, interfaces: names(filters))
    }

    /// Deletes operator rule `id` from the table of each of `filters` (those holding it).
    public static func remove(_ id: UInt32, from filters: [FilterGroup.Member]) throws -> Removed {
        guard !RuleOwnership.isSidecar(id) else {
            throw Refusal(status: .conflict, message: "rule \(id) is the live loop's, not an operator's: take it out with POST /api/rules/\(id)/release")
        }
        // Every filter's state describes its maps, or none is changed.
        for m in filters {
            _ = try RuleChange.verified(m.source)
        }
        try change(filters) { current in current.filter { $0.id != id } }
        return Removed(id: id, rules: filters[0].source.filterRules.count, interfaces: names(filters))
    }

    /// The interfaces of `filters` for a response; nil with one filter named nowhere.
    static func names(_ filters: [FilterGroup.Member]) -> [String]? {
        let n = filters.compactMap(\.name)
        return n.isEmpty ? nil : n
    }

    /// `change` in every filter of `filters`, in order. One that fails after others changed says
    /// which did: the request is not undone behind the operator's back.
    static func change(_ filters: [FilterGroup.Member], _ change: @escaping @Sendable ([Rule]) -> [Rule]) throws {
        var done: [String] = []
        for m in filters {
            do { try RuleChange.change(m.source, change) } catch let r as Refusal {
                guard !done.isEmpty else { throw r }
                throw Refusal(status: r.status, message: "\(r.message) (in \(m.name ?? "?"); changed already: \(done.joined(separator: ", ")))")
            }
            if let n = m.name { done.append(n) }
        }
    }
}
