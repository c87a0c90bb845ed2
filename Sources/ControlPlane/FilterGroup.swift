import Dataplane
import Rules

/// The filters one control plane shows and changes: one, or one per interface when `holon run`
/// protects several.
///
/// Reads cover every filter: counters add up, rules are listed with their interface. A change
/// goes where the request says (`?interface=NAME`, or `"interface"` in a body), else to the
/// filter that holds the rule (a live-loop rule id names one rule across the run: ``RuleIDs``),
/// else to every filter (mode, allowlist, an operator's rule).
public struct FilterGroup: Sendable {
    public struct Member: Sendable {
        /// The interface; nil when the set is one filter (the API then names none, as before).
        public let name: String?
        public let source: any FilterSource
    }

    public let members: [Member]

    /// One filter, named nowhere in the API.
    public init(_ one: any FilterSource) {
        members = [Member(name: nil, source: one)]
    }

    /// A filter per interface, in the run's order (one alone is named nowhere, as above).
    public init(named: [(name: String, source: any FilterSource)]) {
        precondition(!named.isEmpty, "a control plane shows at least one filter")
        members = named.count == 1 ? [Member(name: nil, source: named[0].source)]
            : named.map { Member(name: $0.name, source: $0.source) }
    }

    var first: any FilterSource { members[0].source }

    /// The filters a request means: the one `interface` names, or every one (nil).
    func chosen(_ interface: String?) throws -> [Member] {
        guard let interface else { return members }
        guard let m = members.first(where: { $0.name == interface }) else {
            let names = members.compactMap(\.name)
            throw Refusal(status: .notFound, message: names.isEmpty
                ? "this run protects one filter: leave out interface (got '\(interface)')"
                : "no interface '\(interface)' in this run (\(names.joined(separator: ", ")))")
        }
        return [m]
    }

    /// The filters of those `interface` allows whose table holds rule `id`: a 404 when none does.
    func holding(_ id: UInt32, interface: String?) throws -> [Member] {
        let candidates = try chosen(interface)
        var found = candidates.filter { m in m.source.filterRules.contains { $0.id == id } }
        // The table as this process last saw it may lack a rule another process (`holon rules
        // add`) put there since: read from the filter's state before saying no.
        if found.isEmpty {
            found = candidates.filter { m in ((try? m.source.verifiedTable()) ?? []).contains { $0.id == id } }
        }
        guard !found.isEmpty else {
            throw Refusal(status: .notFound, message: "no rule \(id) in the filter" + (interface.map { " of \($0)" } ?? ""))
        }
        return found
    }

    /// The one filter holding rule `id`; a conflict naming them when several do (a rule an
    /// earlier version numbered per interface), asking for `?interface=`.
    func holder(of id: UInt32, interface: String?) throws -> Member {
        let found = try holding(id, interface: interface)
        guard found.count == 1 else {
            throw Refusal(status: .conflict, message: "rule \(id) is in \(found.compactMap(\.name).joined(separator: " and ")): say which with ?interface=NAME")
        }
        return found[0]
    }
}

extension MetricsExporter {
    /// ``observe(counters:interface:)`` of one filter of a set.
    func observe(_ m: FilterGroup.Member) {
        observe(counters: m.source.ruleCounters(), interface: m.name)
    }
}

extension [MetricsExporter.Reading] {
    /// Every filter's counters added up; nil when none could be read.
    var stats: DataplaneStats? {
        let all = compactMap(\.stats)
        return all.isEmpty ? nil : DataplaneStats.sum(all)
    }

    /// True when every filter's table is enforced, false when one's is not, nil when one cannot tell.
    var enforcing: Bool? {
        if contains(where: { $0.attached == false }) { return false }
        return contains(where: { $0.attached == nil }) ? nil : true
    }

    var ruleCount: Int { reduce(0) { $0 + $1.rules.count } }
}

/// One rule of one interface's filter ("" for a filter named nowhere): rule ids are told apart
/// by interface wherever an earlier version may have numbered them per interface.
struct InterfaceRule: Hashable {
    var interface: String
    var id: UInt32
}
