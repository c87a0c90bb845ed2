import Foundation
import Dataplane
import Hummingbird
import Rules

/// `POST /api/rules/{id}/release` and `/pin`: what `holon rules release|pin` do, for one rule
/// of the live loop. The sidecar notices the change in the table (its fingerprint moves) and
/// follows: a released rule's match is not derived again for a while, a pinned one is no longer
/// its to expire.
public enum RuleChange: String, Sendable, CaseIterable {
    case release, pin

    /// Why a change was refused (the one refusal type of the API).
    public typealias Refusal = ControlPlane.Refusal

    /// What the change did, for the response.
    public struct Outcome: Encodable, Equatable, Sendable {
        public var id: UInt32
        public var action: String
        /// False when there was nothing to do (pinning a pinned rule).
        public var changed: Bool
        /// The rule after the change (nil: released).
        @NullWhenAbsent public var rule: String?
        /// Rules in the table after the change.
        public var rules: Int
        /// The interface whose filter changed, when the run protects several.
        @NullWhenAbsent public var interface: String? = nil
    }

    /// The id in a request's path (thrown refusals are ``Refusal``s): a decimal rule id, or a one-line refusal.
    public static func ruleID(_ text: String?) throws -> UInt32 {
        guard let text, let id = UInt32(text) else {
            throw Refusal(status: .badRequest, message: "rule id must be a number from 1 to \(UInt32.max), got '\(text ?? "")'")
        }
        return id
    }

    /// Applies the change to rule `id` of `filter`'s table.
    public func apply(to id: UInt32, in filter: any FilterSource) throws -> Outcome {
        let table = try Self.verified(filter)
        guard let rule = table.first(where: { $0.id == id }) else {
            throw Refusal(status: .notFound, message: "no rule \(id) in the filter")
        }
        guard RuleOwnership.isSidecar(id) else {
            throw Refusal(status: .conflict, message: "rule \(id) is an operator's rule, not the live loop's (remove it with `holon rules del \(id)`)")
        }
        if self == .pin && rule.ttlSeconds == nil {
            return Outcome(id: id, action: rawValue, changed: false, rule: rule.text, rules: table.count)
        }
        let change: @Sendable ([Rule]) -> [Rule]
        switch self {
        case .release:
            change = { current in current.filter { $0.id != id } }
        case .pin:
            // No TTL is what marks a pinned rule: holon run neither expires nor adopts it.
            change = { current in current.map { r in r.id == id ? r.pinned : r } }
        }
        try Self.change(filter, change)
        let after = filter.filterRules
        return Outcome(id: id, action: rawValue, changed: true, rule: after.first { $0.id == id }?.text, rules: after.count)
    }
}

extension RuleChange {
    /// The table a change starts from, or a conflict when the state on disk does not describe it.
    static func verified(_ filter: any FilterSource) throws -> [Rule] {
        do { return try filter.verifiedTable() } catch {
            throw Refusal(status: .conflict, message: "the table cannot be changed: \(error)")
        }
    }

    /// Applies `change` under the filter's lock; a failure (e.g. another writer's rule took
    /// the id meanwhile) is a conflict.
    static func change(_ filter: any FilterSource, _ change: @escaping @Sendable ([Rule]) -> [Rule]) throws {
        do { try filter.changeTable(change) } catch {
            // Written into a filter detached meanwhile: changed, but enforced by nothing, which
            // the error says whole (the prefix below would deny the change).
            if case DataplaneError.detachedMeanwhile(_, written: true) = error {
                throw Refusal(status: .conflict, message: "\(error)")
            }
            throw Refusal(status: .conflict, message: "the table was not changed: \(error)")
        }
    }
}

extension Rule {
    /// The rule without a TTL: an operator keeps it until they delete it.
    var pinned: Rule {
        var r = self
        r.ttlSeconds = nil
        return r
    }
}
