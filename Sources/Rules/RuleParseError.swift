/// A rule text that could not be read, with where and what the parser expected.
///
/// `line` and `column` are 1-based; columns count Unicode scalars, so they match what an
/// editor shows for ASCII rule text. `description` reads like
/// `line 3, column 17: expected a field name, found "srcport" (did you mean "src_port"?)`.
public struct RuleParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    /// What would have been accepted here, e.g. `a field name`.
    public var expected: String
    /// What was there instead, quoted, or `end of line`.
    public var found: String
    /// The nearest accepted word, when the found one looks like a misspelling.
    public var suggestion: String?

    public init(line: Int, column: Int, expected: String, found: String, suggestion: String? = nil) {
        self.line = line
        self.column = column
        self.expected = expected
        self.found = found
        self.suggestion = suggestion
    }

    public var description: String {
        var s = "line \(line), column \(column): expected \(expected), found \(found)"
        if let suggestion { s += " (did you mean \"\(suggestion)\"?)" }
        return s
    }

    /// The closest candidate to `word`: the only candidate it is a prefix of, else the nearest
    /// by edit distance if close enough to be a typo (≤ 2, or ≤ a third of the word).
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let w = Array(word.lowercased().unicodeScalars)
        guard !w.isEmpty else { return nil }
        // A truncated word (`:prio`) is a typo of the one word it starts.
        let extensions = candidates.filter { $0.count > word.count && $0.hasPrefix(word) }
        if w.count >= 2, extensions.count == 1 { return extensions[0] }
        var best: (String, Int)?
        for c in candidates {
            let d = editDistance(w, Array(c.unicodeScalars))
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (c, d) = best, d > 0 || word != c, d <= max(2, w.count / 3) else { return nil }
        return c
    }

    /// Levenshtein distance (`srcport` → `src_port` is one edit).
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        var prev = Array(0...b.count)
        var cur = prev
        for i in 1...max(a.count, 1) where !a.isEmpty {
            cur[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
