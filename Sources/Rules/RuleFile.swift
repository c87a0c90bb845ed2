import Glibc

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
        var (rules, unnumbered) = try read(text)
        number(&rules, unnumbered: unnumbered, besides: [], below: .max)
        return rules
    }

    /// Parses every rule, leaving the ids of those without `:id` to ``numbered(_:besides:below:)``.
    public static func entries(_ text: String) throws(RuleParseError) -> [Entry] {
        let (rules, unnumbered) = try read(text)
        var entries = rules.map { Entry(rule: $0, hasID: true) }
        for i in unnumbered { entries[i].hasID = false }
        return entries
    }

    /// The rules of `text`, and which of them have no written id.
    private static func read(_ text: String) throws(RuleParseError) -> (rules: [Rule], unnumbered: [Int]) {
        var text = text
        var result: Result<([Rule], [Int]), RuleParseError>!
        text.withUTF8 { utf8 in result = Result { () throws(RuleParseError) in try parse(utf8: utf8) } }
        return try result.get()
    }

    /// The rules of `entries`, each without a written id given one that neither `taken` nor
    /// another entry holds: after the largest id below `limit` in use, in order; from the
    /// lowest free id up when that would reach `limit` (so a table of operators' rules, given
    /// the live loop's ids too, numbers after its own). Written ids are kept as they are.
    public static func numbered(_ entries: [Entry], besides taken: Set<UInt32>, below limit: UInt32 = .max) -> [Rule] {
        var rules = entries.map(\.rule)
        number(&rules, unnumbered: entries.indices.filter { !entries[$0].hasID }, besides: taken, below: limit)
        return rules
    }

    /// ``numbered(_:besides:below:)`` in place: `unnumbered` are the indices of the rules
    /// without a written id, in order.
    private static func number(_ rules: inout [Rule], unnumbered: [Int], besides taken: Set<UInt32>, below limit: UInt32) {
        // A state file's rules all have ids: no set of 100k of them to build.
        guard !unnumbered.isEmpty else { return }
        var written = [Bool](repeating: true, count: rules.count)
        for i in unnumbered { written[i] = false }
        var used = taken
        for (r, w) in zip(rules, written) where w { used.insert(r.id) }
        var next = (used.filter { $0 < limit }.max() ?? 0) &+ 1
        for i in unnumbered {
            if next == 0 || next >= limit { next = 1 }
            while used.contains(next) { next &+= 1 }
            rules[i].id = next
            used.insert(next)
            next &+= 1
        }
    }

    /// Lines end at "\n" or "\r\n"; cut as UTF-8 bytes, not as Characters: telling Characters
    /// apart took a third of the time a 100k-rule state file took to read.
    private static func parse(utf8 text: UnsafeBufferPointer<UInt8>) throws(RuleParseError) -> ([Rule], [Int]) {
        var parsed: [Rule] = []
        var unnumbered: [Int] = []
        // Where each rule is, for the duplicate-id check (``checkIDs``).
        var lines: [(number: Int, start: Int, stop: Int)] = []
        // Ids written in increasing order (a state file's are) cannot repeat: the check is then
        // one comparison a rule, not a dictionary of a million ids.
        var increasing = true, lastID: UInt32?
        var lineNumber = 0
        var start = 0
        while start <= text.count {
            let end = start == text.count ? start
                : memchr(text.baseAddress! + start, 0x0A, text.count - start).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - text.baseAddress! } ?? text.count
            defer { start = end + 1 }
            lineNumber += 1
            var stop = end
            if stop > start && text[stop - 1] == 0x0D { stop -= 1 }
            var first = start
            while first < stop && (text[first] == 0x20 || text[first] == 0x09 || text[first] == 0x0D) { first += 1 }
            if first == stop || text[first] == UInt8(ascii: ";") { continue }
            let raw = UnsafeBufferPointer(rebasing: text[start..<stop])
            let entry: (rule: Rule, hasID: Bool)
            do throws(RuleParseError) {
                entry = try RuleParser.parseLine(bytes: raw, line: lineNumber)
            } catch {
                // A repeated id on an earlier line is the first error.
                if !increasing { try checkIDs(parsed, unnumbered, lines, text) }
                throw error
            }
            if entry.hasID {
                if let last = lastID, entry.rule.id <= last { increasing = false }
                lastID = entry.rule.id
            }
            if !entry.hasID { unnumbered.append(parsed.count) }
            parsed.append(entry.rule)
            lines.append((lineNumber, start, stop))
        }
        if !increasing { try checkIDs(parsed, unnumbered, lines, text) }
        return (parsed, unnumbered)
    }

    /// Refuses the first entry (in file order) whose written id an earlier one wrote.
    private static func checkIDs(_ parsed: [Rule], _ unnumbered: [Int], _ lines: [(number: Int, start: Int, stop: Int)],
                                 _ text: UnsafeBufferPointer<UInt8>) throws(RuleParseError) {
        var seen: [UInt32: Int] = [:]
        let unwritten = Set(unnumbered)
        for (i, (r, l)) in zip(parsed, lines).enumerated() where !unwritten.contains(i) {
            if let first = seen[r.id] {
                let raw = UnsafeBufferPointer(rebasing: text[l.start..<l.stop])
                throw RuleParseError(line: l.number, column: idColumn(Substring(String(decoding: raw, as: UTF8.self))),
                                     expected: "an id not used before (line \(first) has :id \(r.id))",
                                     found: "\"\(r.id)\"")
            }
            seen[r.id] = l.number
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
