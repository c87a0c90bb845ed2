import Dataplane
import Packets
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
    /// Whether the filter only observes (counts what it would drop); nil when it cannot be read.
    func observing() -> Bool?
    func setObserving(_ on: Bool) throws
    /// The allowlist as last set; nil when this source cannot tell (the filter's maps hold
    /// prefixes, not a list to read back).
    func allowlist() -> [AllowPrefix]?
    /// Makes `prefixes` the whole allowlist.
    func replaceAllowlist(_ prefixes: [AllowPrefix]) throws
    /// Whether the filter is attached to its interface, so that its table is enforced: false
    /// when its pins stay but its link went (the interface deleted); nil when this source
    /// cannot tell.
    func enforcing() -> Bool?
    /// Where the live loop reading this filter's samples hands copies to a capture; nil when
    /// no loop here reads them.
    var sampleTap: SampleTap? { get }
}

/// A filter that can only be read: changes are refused with a clear error.
public struct ReadOnlyFilterError: Error, CustomStringConvertible {
    public var description: String { "this control plane cannot change the filter" }
}

extension FilterSource {
    public func verifiedTable() throws -> [Rule] { filterRules }
    public func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws { throw ReadOnlyFilterError() }
    public func observing() -> Bool? { nil }
    public func setObserving(_ on: Bool) throws { throw ReadOnlyFilterError() }
    public func allowlist() -> [AllowPrefix]? { nil }
    public func replaceAllowlist(_ prefixes: [AllowPrefix]) throws { throw ReadOnlyFilterError() }
    public func enforcing() -> Bool? { nil }
    public var sampleTap: SampleTap? { nil }
}

extension Dataplane: FilterSource {
    public func filterStats() -> DataplaneStats? { try? stats() }
    public var filterRules: [Rule] { rules }
    public func enforcing() -> Bool? { stillAttached() }
    public func ruleCounters() -> [UInt32: RuleCounters] { allCounters() }
    public func verifiedTable() throws -> [Rule] { try verifiedRules() }
    public func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws {
        _ = try update { current in change(current) }
    }
    public func observing() -> Bool? { try? settings().observe }
    public func setObserving(_ on: Bool) throws { try setObserve(on) }
    public func replaceAllowlist(_ prefixes: [AllowPrefix]) throws {
        // Emptied, then filled: for that instant an allowlisted source is judged by the rules
        // like any other, which is what `holon run` does on a reload too.
        clearAllowlist()
        try allow(prefixes)
    }
}
