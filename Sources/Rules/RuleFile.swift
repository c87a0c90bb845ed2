/// A file of rules: one rule per line; blank lines and lines starting with `;` are skipped, and
/// a `;` comment may follow a rule.
///
/// Rules without `:id` are numbered after the largest explicit id, in file order, so a
/// hand-written file needs no ids and still yields a table with unique ids. Two explicit equal
/// ids are an error (on the second one's line).
public enum RuleFile {
    /// A parsed rule, and whether its id was written (`:id`) or is still to be given.
    public struct Entry: Sendable, Equatable {
        public var rule: Rule
        public var hasID: Bool
    }

    /// Parses every rule; throws the first error, with its line number.
    public static func parse(_ text: String) throws(RuleParseError) -> [Rule] {
        numbered(try entries(text), besides: [])
    }

    /// Parses every rule, leaving the ids of those without `:id` to ``numbered(_:besides:below:)``.
    public static func entries(_ text: String) throws(RuleParseError) -> [Entry] {
        var text = text
        var result: Result<[Entry], RuleParseError> = .success([])
        text.withUTF8 { utf8 in result = Result { () throws(RuleParseError) in try parse(utf8: utf8) } }
        return try result.get()
    }

    /// The rules of `entries`, each without a written id given one that neither `taken` nor
    /// another entry holds: after the largest id below `limit` in use, in order; from the
    /// lowest free id up when that would reach `limit` (so a table of operators' rules, given
    /// the live loop's ids too, numbers after its own). Written ids are kept as they are.
    public static func numbered(_ entries: [Entry], besides taken: Set<UInt32>, below limit: UInt32 = .max) -> [Rule] {
        // A state file's rules all have ids: no set of 100k of them to build.
        guard entries.contains(where: { !$0.hasID }) else { return entries.map(\.rule) }
        var used = taken
        for e in entries where e.hasID { used.insert(e.rule.id) }
        var next = (used.filter { $0 < limit }.max() ?? 0) &+ 1
        return entries.map { e in
            guard !e.hasID else { return e.rule }
            if next == 0 || next >= limit { next = 1 }
            while used.contains(next) { next &+= 1 }
            var r = e.rule
            r.id = next
            used.insert(next)
            next &+= 1
            return r
        }
    }

    /// Lines end at "\n" or "\r\n"; cut as UTF-8 bytes, not as Characters: telling Characters
    /// apart took a third of the time a 100k-rule state file took to read.
    private static func parse(utf8 text: UnsafeBufferPointer<UInt8>) throws(RuleParseError) -> [Entry] {
        var parsed: [Entry] = []
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
            parsed.append(Entry(rule: entry.rule, hasID: entry.hasID))
        }
        return parsed
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
