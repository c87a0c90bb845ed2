/// A JSON number as the encoder sees it: an integer literal that fits `Int` stays exact, anything
/// else is the correctly rounded `Double`.
enum JSONNumber: Equatable {
    case int(Int)
    case double(Double)

    /// The value as a `Double` (what scalar markers read).
    var doubleValue: Double {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        }
    }

    /// The atom key of the number as a field value or list item: integral values in `Int` range
    /// are integers, as for a Swift `Int` field.
    var key: AtomKey {
        switch self {
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        }
    }
}

extension JSONScanner {
    /// Exact powers of ten as doubles (10^22 is the largest a double holds exactly).
    static let powersOfTen: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }

    /// Reads a number at `pos` (validated against the JSON grammar:
    /// `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`).
    ///
    /// Conversion without allocation for the common case: up to 19 significant digits are
    /// gathered in a `UInt64`; an integer literal that fits `Int` is returned exactly; a decimal
    /// whose digits fit 2^53 and whose power of ten is within ±22 is one exact multiplication or
    /// division, which IEEE rounding makes correctly rounded (Clinger's fast path). Other numbers
    /// (long mantissas, large exponents) go to the standard library's correctly rounded parser.
    mutating func readNumber() throws(JSONEncodingError) -> JSONNumber {
        let start = pos
        let negative = base[pos] == UInt8(ascii: "-")
        if negative { pos += 1 }
        guard pos < end, Self.isDigit(base[pos]) else { throw error("expected a digit") }

        var mantissa: UInt64 = 0
        var significant = 0          // digits gathered in `mantissa` (leading zeros not counted)
        var dropped = false          // digits beyond the 19th were seen
        var exponent = 0             // power of ten to apply to `mantissa`
        var integral = true

        if base[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < end && Self.isDigit(base[pos]) { throw error("leading zero in a number", at: start) }
        } else {
            while pos < end, Self.isDigit(base[pos]) {
                let d = UInt64(base[pos] &- UInt8(ascii: "0"))
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ d
                    significant += 1
                } else {
                    dropped = true
                    exponent += 1
                }
                pos += 1
            }
        }
        if pos < end && base[pos] == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard pos < end, Self.isDigit(base[pos]) else { throw error("expected a digit after '.'") }
            while pos < end, Self.isDigit(base[pos]) {
                let d = UInt64(base[pos] &- UInt8(ascii: "0"))
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ d
                    if mantissa != 0 { significant += 1 }
                    exponent -= 1
                } else if d != 0 {
                    dropped = true
                }
                pos += 1
            }
        }
        if pos < end && (base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E")) {
            integral = false
            pos += 1
            var expNegative = false
            if pos < end && (base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-")) {
                expNegative = base[pos] == UInt8(ascii: "-")
                pos += 1
            }
            guard pos < end, Self.isDigit(base[pos]) else { throw error("expected a digit in the exponent") }
            var e = 0
            while pos < end, Self.isDigit(base[pos]) {
                // Saturate: 10^±100000 is far outside any double, so more digits change nothing.
                if e < 100_000 { e = e * 10 + Int(base[pos] &- UInt8(ascii: "0")) }
                pos += 1
            }
            exponent += expNegative ? -e : e
        }

        if integral && !dropped {
            if !negative && mantissa <= UInt64(Int.max) { return .int(Int(mantissa)) }
            if negative && mantissa <= UInt64(Int.max) + 1 { return .int(mantissa == UInt64(Int.max) + 1 ? Int.min : -Int(mantissa)) }
        }
        if !dropped && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            var d = Double(mantissa)
            d = exponent < 0 ? d / Self.powersOfTen[-exponent] : d * Self.powersOfTen[exponent]
            return .double(negative ? -d : d)
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self)
        guard let d = Double(text), d.isFinite else {
            throw error("number \(text) is outside the range of a double", at: start)
        }
        return .double(d)
    }

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }
}
