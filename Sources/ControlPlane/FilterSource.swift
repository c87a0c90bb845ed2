import Dataplane
import Rules

/// Where the control plane reads the filter's counters and table: the attached ``Dataplane``, or
/// a stand-in in tests.
public protocol FilterSource: Sendable {
    func filterStats() -> DataplaneStats?
    var filterRules: [Rule] { get }
    func ruleCounters() -> [UInt32: RuleCounters]
    /// The table as the filter enforces it; throws when the state on disk does not describe the
    /// maps (a change made from it would be wrong).
    func verifiedTable() throws -> [Rule]
    /// Replaces the table with `change(current)` under the filter's lock (read, change, write).
    func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws
}

/// A filter that can only be read: changes are refused with a clear error.
public struct ReadOnlyFilterError: Error, CustomStringConvertible {
    public var description: String { "this control plane cannot change the filter's table" }
}

extension FilterSource {
    public func verifiedTable() throws -> [Rule] { filterRules }
    public func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws { throw ReadOnlyFilterError() }
}

extension Dataplane: FilterSource {
    public func filterStats() -> DataplaneStats? { try? stats() }
    public var filterRules: [Rule] { rules }
    public func ruleCounters() -> [UInt32: RuleCounters] { allCounters() }
    public func verifiedTable() throws -> [Rule] { try verifiedRules() }
    public func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws {
        _ = try update { current in change(current) }
    }
}
