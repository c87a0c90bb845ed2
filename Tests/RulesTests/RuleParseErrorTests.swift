import Testing
import Packets
import Rules

@Suite struct RuleParseErrorTests {
    /// Column (1-based) of the `occurrence`-th appearance of `marker` in `text`.
    func col(_ text: String, _ marker: String, occurrence: Int = 1) -> Int {
        var from = text.startIndex
        var found = text.startIndex
        for _ in 0..<occurrence {
            found = text[from...].range(of: marker)!.lowerBound
            from = text.index(after: found)
        }
        return text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: found) + 1
    }

    func error(_ text: String, line: Int = 1) -> RuleParseError? {
        do {
            _ = try RuleParser.parse(text, line: line)
            return nil
        } catch {
            return error
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var text: String
        var marker: String
        var occurrence = 1
        var expected: String
        var suggestion: String? = nil
        var description: String { text }
    }

    static let cases: [Case] = [
        Case(text: "rule (and) (drop))", marker: "rule", expected: "\"(\" to start a rule"),
        Case(text: "", marker: "", expected: "\"(\" to start a rule"),
        Case(text: "(rul (and) (drop))", marker: "rul", expected: "\"rule\"", suggestion: "rule"),
        Case(text: "(rule)", marker: ")", expected: "a match like (= proto udp) or (and …)"),
        Case(text: "(rule (eq proto udp) (drop))", marker: "eq", expected: "a predicate (\"=\", \"in\", \"range\", \"mask\", \"bytes\")"),
        Case(text: "(rule (and (= proto udp) drop) (drop))", marker: "drop", expected: "a predicate in parentheses or \")\""),
        Case(text: "(rule (and (and)) (drop))", marker: "and", occurrence: 2, expected: "a predicate (\"=\", \"in\", \"range\", \"mask\", \"bytes\")"),
        Case(text: "(rule (= srcport 53) (drop))", marker: "srcport", expected: "a field name", suggestion: "src_port"),
        Case(text: "(rule (= src_port 70000) (drop))", marker: "70000", expected: "a number 0…65535 for src_port"),
        Case(text: "(rule (= proto udpp) (drop))", marker: "udpp", expected: "a protocol for proto (a number or tcp, udp, icmp, …)", suggestion: "udp"),
        Case(text: "(rule (= tcp_flags syn|akc) (drop))", marker: "syn|akc", expected: "flags for tcp_flags (a number or names like syn|ack)"),
        Case(text: "(rule (= size_class huge) (drop))", marker: "huge", expected: "a value for size_class (tiny, small, medium, large, larger, full, jumbo or a number)"),
        Case(text: "(rule (= src_ip 10.0.0.256) (drop))", marker: "10.0", expected: "an IPv4 address or a number for src_ip"),
        Case(text: "(rule (= proto) (drop))", marker: ")", expected: "a protocol for proto (a number or tcp, udp, icmp, …)"),
        Case(text: "(rule (= proto udp 5) (drop))", marker: "5", expected: "\")\""),
        Case(text: "(rule (in src_port 10.0.0.0/8) (drop))", marker: "src_port", expected: "an address field (src_ip, dst_ip)"),
        Case(text: "(rule (in src_ip 10.0.0/8) (drop))", marker: "10.0", expected: "an address prefix like 10.0.0.0/8 or 2001:db8::/32"),
        Case(text: "(rule (in src_ip 10.0.0.0/33) (drop))", marker: "33", expected: "a prefix length 0…32"),
        Case(text: "(rule (in dst_ip 2001:db8::/129) (drop))", marker: "129", expected: "a prefix length 0…128"),
        Case(text: "(rule (range ip_len 1500 1000) (drop))", marker: "1000", expected: "an upper bound ≥ 1500"),
        Case(text: "(rule (mask tcp_flags syn ack) (drop))", marker: "ack", expected: "a value within the mask syn"),
        Case(text: "(rule (and) drop)", marker: "drop", expected: "an action like (drop) or (rate-limit 5000)"),
        Case(text: "(rule (and) (dorp))", marker: "dorp", expected: "an action (\"drop\", \"pass\", \"count\", \"rate-limit\", \"syn-auth\", \"flow-check\")", suggestion: "drop"),
        Case(text: "(rule (and) (rate-limit fast))", marker: "fast", expected: "a rate in packets per second ≥ 1 (use (drop) to drop everything)"),
        Case(text: "(rule (and) (drop now))", marker: "now", expected: "\")\""),
        Case(text: "(rule (and) (drop) :prio 5)", marker: ":prio", expected: "an option (:id, :priority, :burst, :ttl, :name, :created, :explain) or \")\"", suggestion: ":priority"),
        Case(text: "(rule (and) (drop) :id 1 :id 2)", marker: ":id", occurrence: 2, expected: "each option at most once"),
        Case(text: "(rule (and) (drop) :id 4294967296)", marker: "4294967296", expected: "a rule id 0…4294967295"),
        Case(text: "(rule (and) (drop) :priority high)", marker: "high", expected: "a priority -2147483648…2147483647"),
        Case(text: "(rule (and) (drop) :burst 5)", marker: ":burst", expected: "\":burst\" only with (rate-limit …)"),
        Case(text: "(rule (and) (rate-limit 5) :burst 1000000001)", marker: "1000000001", expected: "a burst 0…1000000000 packets"),
        Case(text: "(rule (and) (drop) :ttl 5w)", marker: "5w", expected: "a duration like 300s, 5m, 2h or 1d"),
        Case(text: "(rule (and) (drop) :ttl 4294967296s)", marker: "4294967296s", expected: "a duration like 300s, 5m, 2h or 1d"),
        Case(text: "(rule (and) (drop) :created soon)", marker: "soon", expected: "a timestamp in nanoseconds"),
        Case(text: "(rule (and) (drop) :explain unquoted)", marker: "unquoted", expected: "a string in double quotes"),
        Case(text: "(rule (and) (drop) :name \"open", marker: "", expected: "a closing \""),
        Case(text: "(rule (and) (drop) :name \"bad \\q\")", marker: "\\q", expected: "an escape (\\\" \\\\ \\n \\t \\r \\u{…})"),
        // Columns count Unicode scalars: "é" and "—" are one each, though two and three bytes.
        Case(text: "(rule (and) (drop) :name \"café — ok\" :prio 5)", marker: ":prio", expected: "an option (:id, :priority, :burst, :ttl, :name, :created, :explain) or \")\"", suggestion: ":priority"),
        Case(text: "(rule (and) (drop) :name \"é \\é\")", marker: "\\é", expected: "an escape (\\\" \\\\ \\n \\t \\r \\u{…})"),
        Case(text: "(rule (= proto ürp) (drop))", marker: "ürp", expected: "a protocol for proto (a number or tcp, udp, icmp, …)"),
        Case(text: "(rule (and) (drop) :name \"bad \\u{110000}\")", marker: "\\u", expected: "an escape (\\\" \\\\ \\n \\t \\r \\u{…})"),
        Case(text: "(rule (and) (drop)) extra", marker: "extra", expected: "the end of the line"),
        Case(text: "(rule (and) (drop)", marker: "", expected: "an option (:id, :priority, :burst, :ttl, :name, :created, :explain) or \")\""),
    ]

    @Test(arguments: cases)
    func errorPositionAndExpectation(_ c: Case) throws {
        let e = try #require(error(c.text, line: 3))
        #expect(e.line == 3)
        #expect(e.expected == c.expected)
        let column = c.marker.isEmpty ? c.text.unicodeScalars.count + 1 : col(c.text, c.marker, occurrence: c.occurrence)
        #expect(e.column == column, "\(e)")
        if let s = c.suggestion { #expect(e.suggestion == s, "\(e)") }
    }

    @Test func descriptionReadsWell() throws {
        let e = try #require(error("(rule (and (= proto udp) (= srcport 53)) (drop))", line: 3))
        #expect(e.description == "line 3, column 29: expected a field name, found \"srcport\" (did you mean \"src_port\"?)")
        let end = try #require(error("(rule (and) (drop)"))
        #expect(end.description == "line 1, column 19: expected an option (:id, :priority, :burst, :ttl, :name, :created, :explain) or \")\", found end of line")
        let far = try #require(error("(rule (= zzzzzzzzzz 1) (drop))"))
        #expect(far.suggestion == nil)
    }

    @Test func fileErrorsCarryLineNumbers() throws {
        let text = """
        ; header
        (rule (= proto udp) (drop) :id 1)

        (rule (= proto tcpp) (drop))
        """
        #expect(throws: RuleParseError(line: 4, column: 16, expected: "a protocol for proto (a number or tcp, udp, icmp, …)",
                                       found: "\"tcpp\"", suggestion: "tcp")) {
            try RuleFile.parse(text)
        }
        let dup = "(rule (and) (drop) :id 5)\n(rule (and) (pass) :id 5)"
        let e = try #require(throws: RuleParseError.self) { try RuleFile.parse(dup) }
        #expect(e.line == 2)
        #expect(e.column == 24)
        #expect(e.expected == "an id not used before (line 1 has :id 5)")
    }

    /// Ids in increasing order are checked by comparison, others by a second pass: either way
    /// the first repeat in file order is the error, and before a syntax error on a later line.
    @Test func repeatedIDsAreFoundInAnyOrder() throws {
        #expect(try RuleFile.parse("(rule (and) (drop) :id 9)\n(rule (and) (drop) :id 3)\n(rule (and) (drop))").map(\.id) == [9, 3, 10])
        let text = "(rule (and) (drop) :id 9)\n(rule (and) (drop) :id 3)\n(rule (and) (drop) :id 4)\n(rule (and) (pass) :id 3)\n(rule (and) (pass) :id 9)"
        let e = try #require(throws: RuleParseError.self) { try RuleFile.parse(text) }
        #expect(e.line == 4 && e.expected == "an id not used before (line 2 has :id 3)", "\(e)")
        let before = try #require(throws: RuleParseError.self) { try RuleFile.parse(text + "\n(rule (= proto tcpp) (drop))") }
        #expect(before.line == 4, "\(before)")
        let after = try #require(throws: RuleParseError.self) { try RuleFile.parse("(rule (and) (drop) :id 9)\n(rule (= proto tcpp) (drop))\n(rule (and) (drop) :id 9)") }
        #expect(after.line == 2, "\(after)")
    }

    /// Numbers are read from the line's bytes: decimal or 0x/0X hexadecimal, nothing past UInt64.
    @Test func numbersReadAsBefore() throws {
        #expect(RuleField.dstPort.parseValue("0x1F") == 31 && RuleField.dstPort.parseValue("0X1f") == 31)
        for bad in ["0x", "+5", "-0", "5 ", "0x1g", "１"] { #expect(RuleField.dstPort.parseValue(bad) == nil, "\(bad)") }
        #expect(try Rule(parsing: "(rule (and) (drop) :created 18446744073709551615)").createdAt == .max)
        #expect(throws: RuleParseError.self) { try Rule(parsing: "(rule (and) (drop) :created 18446744073709551616)") }
        #expect(throws: RuleParseError.self) { try Rule(parsing: "(rule (and) (drop) :created 0x10000000000000000)") }
        #expect(try Rule(parsing: "(rule (in src_ip 10.0.0.0/08) (drop))").predicates == [.prefix(.srcIP, .v4(0x0A00_0000), length: 8)])
        #expect(throws: RuleParseError.self) { try Rule(parsing: "(rule (in src_ip 10.0.0.0/) (drop))") }
    }

    /// Lines end at "\n" or "\r\n" (a file from Windows); a lone "\r" is white space. The file
    /// is cut into lines as bytes: a character of several bytes must not move a line or column.
    @Test func fileLinesEndAtNewlineOrCRLF() throws {
        let text = "(rule (= proto udp) (drop) :id 1)\r\n\r\n; é comment\r\n  \t\r\n(rule (= proto tcp) (drop) :name \"—\" :id 2)\r\n"
        #expect(try RuleFile.parse(text).map(\.id) == [1, 2])
        let lone = try #require(throws: RuleParseError.self) { try RuleFile.parse(text + "(rule (= proto tcp) (drop) :id 3)\r(rule") }
        #expect(lone.line == 6 && lone.column == 35 && lone.expected == "the end of the line", "\(lone)")
        let dup = try #require(throws: RuleParseError.self) { try RuleFile.parse(text + "(rule (and) (pass) :name \"é—\" :id 2)") }
        #expect(dup.line == 6 && dup.column == 35, "\(dup)")
    }
}
