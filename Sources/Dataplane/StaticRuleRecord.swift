import Foundation
import Rules

/// Which of a filter's rules came from the configuration's `static_rules` file when it was last
/// applied (``StaticRulesMerge``): a line of ids beside the rule state, with the table's
/// lifetime (a reboot clears both). Without it, a rule the file no longer lists could not be
/// told from one an operator added while holon ran.
extension Dataplane {
    static func staticRecordPath(_ o: DataplaneOptions) -> String { o.stateFile + ".static" }

    /// The ids last recorded, nil when there is no record (or no state directory: a maps-only
    /// handle).
    public func staticRuleIDs() -> Set<UInt32>? {
        guard let options, let text = try? RuleState.readText(Self.staticRecordPath(options)) else { return nil }
        return Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt32($0) })
    }

    /// Records `ids` as the static rules now in the table, atomically.
    public func recordStaticRuleIDs(_ ids: [UInt32]) throws(DataplaneError) {
        guard let options else { return }
        let path = Self.staticRecordPath(options)
        try RuleState.writeSynced(ids.sorted().map(String.init).joined(separator: " ") + "\n", to: path + ".tmp")
        guard rename(path + ".tmp", path) == 0 else {
            throw .stateFile("renaming \(path).tmp: \(String(cString: strerror(errno)))")
        }
    }
}
