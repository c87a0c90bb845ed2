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
        /// Where the token starts in the line's UTF-8; ``RuleLexer/column(at:)`` turns it into
        /// the column an error names (only an error needs one).
        var offset: Int

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

    /// The line's UTF-8. Read as bytes, not Unicode scalars: every byte the grammar gives a meaning
    /// is ASCII, and no byte of a multi-byte character is ASCII, so a character other than those
    /// is simply part of an atom or string. Decoding the line scalar by scalar and building atoms
    /// scalar by scalar took most of the 0.8 s a 100k-rule state file took to read.
    let bytes: [UInt8]
    let line: Int
    /// The next byte to read.
    var pos = 0

    init(_ text: some StringProtocol, line: Int) {
        self.init(bytes: Array(text.utf8), line: line)
    }

    /// `bytes`: one line of UTF-8 (a String's, so valid).
    init(bytes: [UInt8], line: Int) {
        self.bytes = bytes
        self.line = line
    }

    /// The 1-based column of byte `offset`, in Unicode scalars (what an editor shows for most text).
    func column(at offset: Int) -> Int {
        bytes[..<min(offset, bytes.count)].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

    mutating func next() throws(RuleParseError) -> Token {
        while pos < bytes.count, Self.isSpace(bytes[pos]) { pos += 1 }
        let start = pos
        guard pos < bytes.count, bytes[pos] != UInt8(ascii: ";") else {
            pos = bytes.count
            return Token(kind: .end, offset: start)
        }
        switch bytes[pos] {
        case UInt8(ascii: "("):
            pos += 1
            return Token(kind: .open, offset: start)
        case UInt8(ascii: ")"):
            pos += 1
            return Token(kind: .close, offset: start)
        case UInt8(ascii: "\""):
            return Token(kind: .string(try string()), offset: start)
        default:
            while pos < bytes.count {
                let b = bytes[pos]
                if Self.isSpace(b) || b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: "\"") || b == UInt8(ascii: ";") { break }
                pos += 1
            }
            return Token(kind: .atom(String(decoding: bytes[start..<pos], as: UTF8.self)), offset: start)
        }
    }

    /// Reads a string literal starting at the opening quote.
    private mutating func string() throws(RuleParseError) -> String {
        pos += 1
        var s: [UInt8] = []
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: s, as: UTF8.self)
            }
            if b != UInt8(ascii: "\\") {
                s.append(b)
                pos += 1
                continue
            }
            let escape = pos
            pos += 1
            guard pos < bytes.count else { break }
            switch bytes[pos] {
            case UInt8(ascii: "\""): s.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): s.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "n"): s.append(0x0A)
            case UInt8(ascii: "t"): s.append(0x09)
            case UInt8(ascii: "r"): s.append(0x0D)
            case UInt8(ascii: "u"):
                // \u{hex}
                var p = pos + 1
                guard p < bytes.count, bytes[p] == UInt8(ascii: "{") else { throw badEscape(escape) }
                p += 1
                let digits = p
                while p < bytes.count, bytes[p] != UInt8(ascii: "}") { p += 1 }
                guard p < bytes.count, p - digits <= 8, let v = UInt32(String(decoding: bytes[digits..<p], as: UTF8.self), radix: 16),
                      let u = Unicode.Scalar(v) else { throw badEscape(escape) }
                s.append(contentsOf: String(u).utf8)
                pos = p
            default:
                throw badEscape(escape)
            }
            pos += 1
        }
        throw RuleParseError(line: line, column: self.column(at: bytes.count), expected: "a closing \"", found: "end of line")
    }

    /// The error for the escape whose backslash is at byte `offset`, quoting it and the character after it.
    private func badEscape(_ offset: Int) -> RuleParseError {
        var end = min(offset + 1, bytes.count)
        if end < bytes.count {
            end += 1
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        }
        let text = String(decoding: bytes[offset..<end], as: UTF8.self)
        return RuleParseError(line: line, column: column(at: offset),
                              expected: "an escape (\\\" \\\\ \\n \\t \\r \\u{…})", found: "\"\(text)\"")
    }
}
