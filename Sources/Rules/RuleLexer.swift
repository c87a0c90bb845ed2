/// Splits one line of rule text into tokens: `(`, `)`, atoms (any run of characters other than
/// white space, parentheses, `"` and `;`) and string literals. `;` outside a string starts a
/// comment that runs to the end of the line.
struct RuleLexer {
    enum Kind: Equatable {
        case open, close, end
        case atom(String)
        case string(String)
    }

    struct Token {
        var kind: Kind
        /// 1-based, in Unicode scalars.
        var column: Int

        /// How an error message shows the token.
        var found: String {
            switch kind {
            case .open: return "\"(\""
            case .close: return "\")\""
            case .end: return "end of line"
            case .atom(let s): return "\"\(s)\""
            case .string(let s): return "the string " + Rule.quote(s)
            }
        }

        var atom: String? {
            if case .atom(let s) = kind { return s }
            return nil
        }
    }

    let scalars: [Unicode.Scalar]
    let line: Int
    var pos = 0

    init(_ text: some StringProtocol, line: Int) {
        scalars = Array(text.unicodeScalars)
        self.line = line
    }

    mutating func next() throws(RuleParseError) -> Token {
        while pos < scalars.count, scalars[pos] == " " || scalars[pos] == "\t" || scalars[pos] == "\r" || scalars[pos] == "\n" {
            pos += 1
        }
        let column = pos + 1
        guard pos < scalars.count, scalars[pos] != ";" else {
            pos = scalars.count
            return Token(kind: .end, column: column)
        }
        let c = scalars[pos]
        switch c {
        case "(":
            pos += 1
            return Token(kind: .open, column: column)
        case ")":
            pos += 1
            return Token(kind: .close, column: column)
        case "\"":
            return Token(kind: .string(try string()), column: column)
        default:
            var s = String.UnicodeScalarView()
            while pos < scalars.count {
                let c = scalars[pos]
                if c == " " || c == "\t" || c == "\r" || c == "\n" || c == "(" || c == ")" || c == "\"" || c == ";" { break }
                s.append(c)
                pos += 1
            }
            return Token(kind: .atom(String(s)), column: column)
        }
    }

    /// Reads a string literal starting at the opening quote.
    private mutating func string() throws(RuleParseError) -> String {
        pos += 1
        var s = String.UnicodeScalarView()
        while pos < scalars.count {
            let c = scalars[pos]
            if c == "\"" {
                pos += 1
                return String(s)
            }
            if c != "\\" {
                s.append(c)
                pos += 1
                continue
            }
            let escapeColumn = pos + 1
            pos += 1
            guard pos < scalars.count else { break }
            switch scalars[pos] {
            case "\"": s.append("\"")
            case "\\": s.append("\\")
            case "n": s.append("\n")
            case "t": s.append("\t")
            case "r": s.append("\r")
            case "u":
                // \u{hex}
                var hex = ""
                var p = pos + 1
                guard p < scalars.count, scalars[p] == "{" else { throw badEscape(escapeColumn) }
                p += 1
                while p < scalars.count, scalars[p] != "}" { hex.unicodeScalars.append(scalars[p]); p += 1 }
                guard p < scalars.count, hex.count <= 8, let v = UInt32(hex, radix: 16),
                      let u = Unicode.Scalar(v) else { throw badEscape(escapeColumn) }
                s.append(u)
                pos = p
            default:
                throw badEscape(escapeColumn)
            }
            pos += 1
        }
        throw RuleParseError(line: line, column: scalars.count + 1, expected: "a closing \"", found: "end of line")
    }

    private func badEscape(_ column: Int) -> RuleParseError {
        let end = min(column + 1, scalars.count)
        let text = String(String.UnicodeScalarView(scalars[(column - 1)..<end]))
        return RuleParseError(line: line, column: column,
                              expected: "an escape (\\\" \\\\ \\n \\t \\r \\u{…})", found: "\"\(text)\"")
    }
}
