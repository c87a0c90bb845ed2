/// A file of rules: one rule per line; blank lines and lines starting with `;` are skipped, and
/// a `;` comment may follow a rule.
///
/// Rules without `:id` are numbered after the largest explicit id, in file order, so a
/// hand-written file needs no ids and still yields a table with unique ids. Two explicit equal
/// ids are an error (on the second one's line).
public enum RuleFile {
    /// Parses every rule; throws the first error, with its line number.
    public static func parse(_ text: String) throws(RuleParseError) -> [Rule] {
        var parsed: [(rule: Rule, hasID: Bool)] = []
        var seen: [UInt32: Int] = [:]
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so split on both forms.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let trimmed = raw.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
            if trimmed.isEmpty || trimmed.first == ";" { continue }
            let entry = try RuleParser.parseLine(raw, line: lineNumber)
            if entry.hasID {
                if let first = seen[entry.rule.id] {
                    throw RuleParseError(line: lineNumber, column: idColumn(raw),
                                         expected: "an id not used before (line \(first) has :id \(entry.rule.id))",
                                         found: "\"\(entry.rule.id)\"")
                }
                seen[entry.rule.id] = lineNumber
            }
            parsed.append(entry)
        }
        var next = (seen.keys.max() ?? 0) &+ 1
        if seen.isEmpty { next = 1 }
        return parsed.map { entry in
            guard !entry.hasID else { return entry.rule }
            var r = entry.rule
            r.id = next
            next &+= 1
            return r
        }
    }

    /// One canonical line per rule, newline-terminated.
    public static func print(_ rules: [Rule]) -> String {
        rules.map { $0.text + "\n" }.joined()
    }

    /// Column of the value after `:id` (for the duplicate-id error).
    private static func idColumn(_ line: Substring) -> Int {
        let s = Array(line.unicodeScalars)
        let key = Array(":id ".unicodeScalars)
        guard s.count >= key.count else { return 1 }
        for i in 0...(s.count - key.count) where Array(s[i..<(i + key.count)]) == key {
            return i + key.count + 1
        }
        return 1
    }
}
