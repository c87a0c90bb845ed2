import Dataplane
import Rules

/// Where the control plane reads the filter's counters and table: the attached ``Dataplane``, or
/// a stand-in in tests.
public protocol FilterSource: Sendable {
    func filterStats() -> DataplaneStats?
    var filterRules: [Rule] { get }
    func ruleCounters() -> [UInt32: RuleCounters]
}

extension Dataplane: FilterSource {
    public func filterStats() -> DataplaneStats? { try? stats() }
    public var filterRules: [Rule] { rules }
    public func ruleCounters() -> [UInt32: RuleCounters] { allCounters() }
}
