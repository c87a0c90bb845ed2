/// A cursor over JSON text as UTF-8 bytes: the lexical layer of the one-pass JSON encoder.
///
/// It validates as it goes (RFC 8259 grammar, UTF-8 inside strings, escapes including `\u`
/// surrogate pairs, number syntax, a nesting limit) and never allocates on the success path:
/// strings are not materialised but hashed while they are unescaped (the hash is the one
/// ``AtomKey/string(_:)`` computes from the same text), numbers are converted in place.
/// Every error is a ``JSONEncodingError/syntax(offset:reason:)`` naming the byte where it was
/// found.
///
/// The caller keeps the buffer alive for the scanner's lifetime.
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos = 0
    /// Objects and arrays nested deeper than this are rejected, which bounds the recursion of
    /// everything that walks the text. 512 is Foundation's `JSONSerialization` limit too.
    let maxDepth: Int

    static let defaultMaxDepth = 512

    /// `buffer` must outlive the scanner. An empty buffer is fine (it fails as "no value").
    init(_ buffer: UnsafeRawBufferPointer, maxDepth: Int = JSONScanner.defaultMaxDepth) {
        // A dangling-but-never-read base for empty input keeps every read behind `pos < end`.
        self.base = buffer.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? JSONScanner.emptyBase
        self.end = buffer.count
        self.maxDepth = maxDepth
    }

    nonisolated(unsafe) private static let emptyBase: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    var atEnd: Bool { pos >= end }

    func error(_ reason: String, at offset: Int? = nil) -> JSONEncodingError {
        .syntax(offset: offset ?? pos, reason: reason)
    }

    // MARK: Structure

    /// Skips a UTF-8 byte order mark (Foundation accepts one, so the encoder does too).
    mutating func skipByteOrderMark() {
        if end - pos >= 3 && base[pos] == 0xEF && base[pos + 1] == 0xBB && base[pos + 2] == 0xBF { pos += 3 }
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let c = base[pos]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos += 1
        }
    }

    /// The next non-whitespace byte, not consumed.
    @inline(__always)
    mutating func peek(expecting what: @autoclosure () -> String) throws(JSONEncodingError) -> UInt8 {
        skipWhitespace()
        guard pos < end else { throw error("unexpected end of input, expected \(what())") }
        return base[pos]
    }

    /// Consumes `byte` after optional whitespace.
    @inline(__always)
    mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws(JSONEncodingError) {
        let c = try peek(expecting: what())
        guard c == byte else { throw error("expected \(what()), found \(Self.describe(c))") }
        pos += 1
    }

    /// After a member or element: consumes `,` and returns true, or consumes `close` and returns
    /// false. A `,` directly followed by `close` is an error (trailing commas are not JSON).
    @inline(__always)
    mutating func nextMember(close: UInt8) throws(JSONEncodingError) -> Bool {
        let closeName = close == UInt8(ascii: "}") ? "'}'" : "']'"
        let c = try peek(expecting: "',' or \(closeName)")
        if c == UInt8(ascii: ",") {
            pos += 1
            let n = try peek(expecting: "a value after ','")
            if n == close { throw error("trailing comma before \(closeName)") }
            return true
        }
        if c == close { pos += 1; return false }
        throw error("expected ',' or \(closeName), found \(Self.describe(c))")
    }

    func checkDepth(_ depth: Int) throws(JSONEncodingError) {
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth) levels") }
    }

    static func describe(_ c: UInt8) -> String {
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x" + String(c, radix: 16, uppercase: true)
    }

    // MARK: Literals

    /// `true`, `false` or `null` (the caller has seen its first byte).
    mutating func readLiteral() throws(JSONEncodingError) -> Literal {
        let c = base[pos]
        let (word, value): (StaticString, Literal) =
            c == UInt8(ascii: "t") ? ("true", .true) : c == UInt8(ascii: "f") ? ("false", .false) : ("null", .null)
        let n = word.utf8CodeUnitCount
        guard end - pos >= n else { throw error("unexpected end of input inside '\(word)'") }
        let w = word.utf8Start
        for i in 0..<n where base[pos + i] != w[i] { throw error("invalid literal, expected '\(word)'", at: pos + i) }
        pos += n
        return value
    }

    enum Literal { case `true`, `false`, null }

    // MARK: Strings

    /// Reads the string starting at the current `"`, feeding its unescaped UTF-8 bytes to `sink`.
    @inline(__always)
    mutating func readString<S: JSONStringSink>(into sink: inout S) throws(JSONEncodingError) {
        let start = pos
        pos += 1
        while true {
            guard pos < end else { throw error("unterminated string (it opens at byte \(start))") }
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return
            } else if c == UInt8(ascii: "\\") {
                try readEscape(into: &sink)
            } else if c < 0x20 {
                throw error("unescaped control character \(Self.describe(c)) in string")
            } else if c < 0x80 {
                sink.append(c)
                pos += 1
            } else {
                let n = try utf8SequenceLength()
                for i in 0..<n { sink.append(base[pos + i]) }
                pos += n
            }
        }
    }

    /// The length of the well-formed UTF-8 sequence at `pos` (Unicode Table 3-7: no overlong
    /// forms, no encoded surrogates, nothing above U+10FFFF), or an error.
    @inline(__always)
    func utf8SequenceLength() throws(JSONEncodingError) -> Int {
        let c = base[pos]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: throw error("invalid UTF-8 lead byte \(Self.describe(c))")
        }
        // Errors name the sequence's first byte: that is where the bad character starts.
        guard end - pos >= n else { throw error("truncated UTF-8 sequence") }
        let second = base[pos + 1]
        guard second >= lo && second <= hi else {
            throw error("invalid UTF-8 sequence (\(Self.describe(c)) then \(Self.describe(second)))")
        }
        for i in 2..<n where base[pos + i] & 0xC0 != 0x80 {
            throw error("invalid UTF-8 sequence (bad continuation \(Self.describe(base[pos + i])) at byte \(pos + i))")
        }
        return n
    }

    /// One escape sequence at `pos` (the backslash).
    mutating func readEscape<S: JSONStringSink>(into sink: inout S) throws(JSONEncodingError) {
        guard end - pos >= 2 else { throw error("unterminated escape sequence") }
        let e = base[pos + 1]
        let simple: UInt8
        switch e {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            let escapeStart = pos
            var scalar = try readHex4(at: pos + 2)
            pos += 6
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate must be followed at once by an escaped low one.
                guard end - pos >= 6, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                    throw error("high surrogate \\u\(String(scalar, radix: 16)) without a following low surrogate", at: escapeStart)
                }
                let low = try readHex4(at: pos + 2)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw error("high surrogate \\u\(String(scalar, radix: 16)) followed by \\u\(String(low, radix: 16)), not a low surrogate", at: escapeStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                pos += 6
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw error("low surrogate \\u\(String(scalar, radix: 16)) without a high surrogate before it", at: escapeStart)
            }
            Self.appendUTF8(scalar, into: &sink)
            return
        default:
            throw error("invalid escape sequence '\\\(Character(Unicode.Scalar(e)))'")
        }
        sink.append(simple)
        pos += 2
    }

    func readHex4(at p: Int) throws(JSONEncodingError) -> UInt32 {
        guard end - p >= 4 else { throw error("truncated \\u escape", at: p - 2) }
        var v: UInt32 = 0
        for i in 0..<4 {
            let c = base[p + i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape", at: p + i)
            }
            v = v << 4 | d
        }
        return v
    }

    static func appendUTF8<S: JSONStringSink>(_ s: UInt32, into sink: inout S) {
        switch s {
        case 0..<0x80:
            sink.append(UInt8(s))
        case 0x80..<0x800:
            sink.append(UInt8(0xC0 | s >> 6))
            sink.append(UInt8(0x80 | s & 0x3F))
        case 0x800..<0x10000:
            sink.append(UInt8(0xE0 | s >> 12))
            sink.append(UInt8(0x80 | (s >> 6) & 0x3F))
            sink.append(UInt8(0x80 | s & 0x3F))
        default:
            sink.append(UInt8(0xF0 | s >> 18))
            sink.append(UInt8(0x80 | (s >> 12) & 0x3F))
            sink.append(UInt8(0x80 | (s >> 6) & 0x3F))
            sink.append(UInt8(0x80 | s & 0x3F))
        }
    }

    /// Reads a string and returns its atom key: `AtomKey.string` of the unescaped text.
    @inline(__always)
    mutating func readStringKey() throws(JSONEncodingError) -> AtomKey {
        var h = StringHashSink()
        try readString(into: &h)
        return h.key
    }

    // MARK: Skipping

    /// Validates and skips one value of any kind.
    mutating func skipValue(depth: Int) throws(JSONEncodingError) {
        let c = try peek(expecting: "a value")
        switch c {
        case UInt8(ascii: "\""):
            var none = DiscardSink()
            try readString(into: &none)
        case UInt8(ascii: "{"):
            try checkDepth(depth + 1)
            pos += 1
            if try peek(expecting: "a key or '}'") == UInt8(ascii: "}") { pos += 1; return }
            repeat {
                guard try peek(expecting: "a key") == UInt8(ascii: "\"") else {
                    throw error("expected a key (a string), found \(Self.describe(base[pos]))")
                }
                var none = DiscardSink()
                try readString(into: &none)
                try expect(UInt8(ascii: ":"), "':' after a key")
                try skipValue(depth: depth + 1)
            } while try nextMember(close: UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            try checkDepth(depth + 1)
            pos += 1
            if try peek(expecting: "a value or ']'") == UInt8(ascii: "]") { pos += 1; return }
            repeat { try skipValue(depth: depth + 1) } while try nextMember(close: UInt8(ascii: "]"))
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            _ = try readLiteral()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try readNumber()
        default:
            throw error("expected a value, found \(Self.describe(c))")
        }
    }

    /// Checks that the whole buffer is one JSON value and nothing else.
    mutating func validateDocument() throws(JSONEncodingError) {
        skipByteOrderMark()
        try skipValue(depth: 0)
        try expectEndOfInput()
    }

    mutating func expectEndOfInput() throws(JSONEncodingError) {
        skipWhitespace()
        if pos < end { throw error("unexpected \(Self.describe(base[pos])) after the top-level value") }
    }
}

/// Receives the unescaped bytes of a JSON string.
protocol JSONStringSink {
    mutating func append(_ byte: UInt8)
}

/// Hashes the bytes exactly as ``AtomKey/string(_:)`` hashes a Swift string's UTF-8 (FNV-1a,
/// then the string tag and the finaliser), so no `String` is ever built.
struct StringHashSink: JSONStringSink {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    @inline(__always) mutating func append(_ byte: UInt8) {
        h ^= UInt64(byte)
        h &*= 0x0000_0100_0000_01B3
    }
    var key: AtomKey { AtomKey(rawValue: StableHash.fmix64(h ^ 0x73)) }
}

/// Drops the bytes (validation only).
struct DiscardSink: JSONStringSink {
    @inline(__always) mutating func append(_ byte: UInt8) {}
}

/// Collects the bytes, for the rare paths that need the text (error messages).
struct CollectSink: JSONStringSink {
    var bytes: [UInt8] = []
    mutating func append(_ byte: UInt8) { bytes.append(byte) }
}
