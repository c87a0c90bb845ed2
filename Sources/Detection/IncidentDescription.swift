extension Incident: CustomStringConvertible {
    public var description: String {
        let rules = self.rules.map(\.description).joined(separator: "; ")
        return "Incident #\(id) \(name) opened \(openedAt) closed \(closedAt.map(String.init) ?? "-") drift \(drift) rules [\(rules)]"
    }
}
