import Glibc

/// Splits one line of rule text into tokens: `(`, `)`, atoms (any run of characters other than
/// white space, parentheses, `"` and `;`) and string literals. `;` outside a string starts a
/// comment that runs to the end of the line.
///
/// It reads the line's UTF-8 in place and an atom is where it lies in it, compared with the
/// grammar's words as bytes: a state file of a million rules holds fifteen million atoms, and
/// making each a `String` (with the line copied into an array first) was most of what reading it
/// cost. Only an error, or a value the parser cannot read from bytes, makes an atom a `String`.
struct RuleLexer {
    enum Kind: Equatable {
        case open, close, end
        /// The bytes `offset..<end` of the line.
        case atom
        case string(String)
    }

    struct Token {
        var kind: Kind
        /// Where the token starts in the line's UTF-8; ``RuleLexer/column(at:)`` turns it into
        /// the column an error names (only an error needs one).
        var offset: Int
        /// Where an atom ends.
        var end: Int

        var isAtom: Bool { kind == .atom }
    }

    /// The line's UTF-8 (a String's, so valid), alive while the lexer is: every lexer is made and
    /// dropped inside the `withUTF8` of the text it reads. Read as bytes, not Unicode scalars:
    /// every byte the grammar gives a meaning is ASCII, and no byte of a multi-byte character is
    /// ASCII, so a character other than those is simply part of an atom or string.
    let bytes: UnsafeBufferPointer<UInt8>
    let line: Int
    /// The next byte to read.
    var pos = 0

    init(bytes: UnsafeBufferPointer<UInt8>, line: Int) {
        self.bytes = bytes
        self.line = line
    }

    /// The 1-based column of byte `offset`, in Unicode scalars (what an editor shows for most text).
    func column(at offset: Int) -> Int {
        bytes[..<min(offset, bytes.count)].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
    }

    /// An atom's bytes (nil for any other token).
    func utf8(_ t: Token) -> UnsafeBufferPointer<UInt8>? {
        t.kind == .atom ? UnsafeBufferPointer(rebasing: bytes[t.offset..<t.end]) : nil
    }

    /// An atom's text (nil for any other token).
    func text(_ t: Token) -> String? {
        utf8(t).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `t` is the atom `word`.
    func isAtom(_ t: Token, _ word: StaticString) -> Bool {
        t.kind == .atom && t.end - t.offset == word.utf8CodeUnitCount
            && memcmp(bytes.baseAddress! + t.offset, word.utf8Start, word.utf8CodeUnitCount) == 0
    }

    /// How an error message shows the token.
    func found(_ t: Token) -> String {
        switch t.kind {
        case .open: return "\"(\""
        case .close: return "\")\""
        case .end: return "end of line"
        case .atom: return "\"\(text(t)!)\""
        case .string(let s): return "the string " + Rule.quote(s)
        }
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

    mutating func next() throws(RuleParseError) -> Token {
        while pos < bytes.count, Self.isSpace(bytes[pos]) { pos += 1 }
        let start = pos
        guard pos < bytes.count, bytes[pos] != UInt8(ascii: ";") else {
            pos = bytes.count
            return Token(kind: .end, offset: start, end: start)
        }
        switch bytes[pos] {
        case UInt8(ascii: "("):
            pos += 1
            return Token(kind: .open, offset: start, end: pos)
        case UInt8(ascii: ")"):
            pos += 1
            return Token(kind: .close, offset: start, end: pos)
        case UInt8(ascii: "\""):
            let s = try string()
            return Token(kind: .string(s), offset: start, end: pos)
        default:
            while pos < bytes.count {
                let b = bytes[pos]
                if Self.isSpace(b) || b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: "\"") || b == UInt8(ascii: ";") { break }
                pos += 1
            }
            return Token(kind: .atom, offset: start, end: pos)
        }
    }

    /// Reads a string literal starting at the opening quote.
    private mutating func string() throws(RuleParseError) -> String {
        pos += 1
        // Most strings have no escape: made from the line's bytes at once.
        var close = pos
        while close < bytes.count, bytes[close] != UInt8(ascii: "\""), bytes[close] != UInt8(ascii: "\\") { close += 1 }
        if close < bytes.count, bytes[close] == UInt8(ascii: "\"") {
            defer { pos = close + 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[pos..<close]), as: UTF8.self)
        }
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
