/// How the loop names the rules of an incident: `holon-incident-N`. The name outlives the run
/// (it is in the filter's table), so a later run reads the incident back from it.
public enum IncidentRuleName {
    static let prefix = "holon-incident-"

    public static func name(incident: Int) -> String { prefix + String(incident) }

    /// The incident a rule was derived for, from its name; nil for a name the loop did not give.
    public static func incident(of name: String?) -> Int? {
        guard let name, name.hasPrefix(prefix) else { return nil }
        return Int(name.dropFirst(prefix.count))
    }
}
