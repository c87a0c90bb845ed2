/// The configuration's `static_rules` file applied to a filter's table (at `holon run --config`'s
/// start and on every reload). The file owns the rules it lists, and only those: a rule it
/// lists is put in (replacing the table's rule of that id), a rule it listed the last time and
/// no longer does goes, and every other rule stays — the live loop's, and the rules operators
/// added while it ran (`holon rules add`, the API). Replacing every operator rule with the
/// file's, a reload (`systemctl reload holon` to change the allowlist) removed the rule an
/// operator had added during an attack, unsaid.
public struct StaticRulesMerge: Sendable, Equatable {
    /// The table to install.
    public var rules: [Rule] = []
    /// Ids of the file's rules that were not in the table.
    public var added: [UInt32] = []
    /// Ids of the file's rules that were in the table, changed.
    public var changed: [UInt32] = []
    /// Rules the file listed the last time and no longer does: taken out.
    public var removed: [Rule] = []
    /// Operators' rules not from the file whose id the file now takes: replaced by the file's.
    public var displaced: [Rule] = []
    /// Operators' rules not from the file, kept as they are.
    public var kept = 0

    /// `previous`: the ids the file listed when it was last applied to this table (nil when no
    /// record of it is left: nothing then counts as having been the file's).
    public init(table: [Rule], statics: [Rule], previous: Set<UInt32>?) {
        let wanted = Dictionary(statics.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        let before = previous ?? []
        // The table's rule where it is the file's (its install time stamped): left as it is.
        var same: [UInt32: Rule] = [:]
        var present = Set<UInt32>()
        for r in table {
            if RuleOwnership.isSidecar(r.id) {
                rules.append(r)
            } else if let s = wanted[r.id] {
                present.insert(r.id)
                if Self.isSame(s, installedAs: r) {
                    same[r.id] = r
                } else {
                    changed.append(r.id)
                    if !before.contains(r.id) { displaced.append(r) }
                }
            } else if before.contains(r.id) {
                removed.append(r)
            } else {
                rules.append(r)
                kept += 1
            }
        }
        for s in statics where !present.contains(s.id) { added.append(s.id) }
        rules += wanted.values.sorted { $0.id < $1.id }.map { same[$0.id] ?? $0 }
    }

    /// `installed` is `rule` as the filter keeps it: the install stamps a rule written
    /// without `:created` with the time it went in.
    static func isSame(_ rule: Rule, installedAs installed: Rule) -> Bool {
        var i = installed
        if rule.createdAt == nil { i.createdAt = nil }
        return i == rule
    }

    /// One line for the operator: what the file changed and what it left alone.
    public var summary: String {
        var parts: [String] = []
        if !added.isEmpty { parts.append("\(added.count) added") }
        if !changed.isEmpty { parts.append("\(changed.count) changed") }
        if !removed.isEmpty { parts.append("\(removed.count) no longer in the file removed (\(Self.ids(removed.map(\.id))))") }
        if parts.isEmpty { parts.append("unchanged") }
        var line = "static rules " + parts.joined(separator: ", ")
        line += "; \(kept) operator rule(s) not from the file kept"
        if !displaced.isEmpty {
            line += "; the file's rule(s) \(Self.ids(displaced.map(\.id))) replaced operators' rule(s) of the same id"
        }
        return line
    }

    static func ids(_ ids: [UInt32]) -> String {
        let shown = ids.prefix(10).map(String.init).joined(separator: ", ")
        return ids.count > 10 ? shown + " and \(ids.count - 10) more" : shown
    }
}
