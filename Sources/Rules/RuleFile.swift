/// A file of rules: one rule per line; blank lines and lines starting with `;` are skipped, and
/// a `;` comment may follow a rule.
///
/// Rules without `:id` are numbered after the largest explicit id, in file order, so a
/// hand-written file needs no ids and still yields a table with unique ids. Two explicit equal
/// ids are an error (on the second one's line).
public enum RuleFile {
    /// Parses every rule; throws the first error, with its line number.
    public static func parse(_ text: String) throws(RuleParseError) -> [Rule] {
        var text = text
        var result: Result<[Rule], RuleParseError> = .success([])
        text.withUTF8 { utf8 in result = Result { () throws(RuleParseError) in try parse(utf8: utf8) } }
        return try result.get()
    }

    /// Lines end at "\n" or "\r\n"; cut as UTF-8 bytes, not as Characters: telling Characters
    /// apart took a third of the time a 100k-rule state file took to read.
    private static func parse(utf8 text: UnsafeBufferPointer<UInt8>) throws(RuleParseError) -> [Rule] {
        var parsed: [(rule: Rule, hasID: Bool)] = []
        var seen: [UInt32: Int] = [:]
        var lineNumber = 0
        var start = 0
        while start <= text.count {
            var end = start
            while end < text.count && text[end] != 0x0A { end += 1 }
            defer { start = end + 1 }
            lineNumber += 1
            var stop = end
            if stop > start && text[stop - 1] == 0x0D { stop -= 1 }
            var first = start
            while first < stop && (text[first] == 0x20 || text[first] == 0x09 || text[first] == 0x0D) { first += 1 }
            if first == stop || text[first] == UInt8(ascii: ";") { continue }
            let raw = Array(UnsafeBufferPointer(rebasing: text[start..<stop]))
            let entry = try RuleParser.parseLine(bytes: raw, line: lineNumber)
            if entry.hasID {
                if let first = seen[entry.rule.id] {
                    throw RuleParseError(line: lineNumber, column: idColumn(Substring(String(decoding: raw, as: UTF8.self))),
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
        var out: [UInt8] = []
        out.reserveCapacity(rules.count * 80)
        for r in rules {
            r.write(to: &out)
            out.append(0x0A)
        }
        return String(decoding: out, as: UTF8.self)
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
