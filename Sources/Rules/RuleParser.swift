import Packets

/// The reader of the rule language: one rule per line.
///
/// Grammar (tokens are separated by white space; `;` starts a comment):
///
///     rule      = "(" "rule" match action option* ")"
///     match     = predicate | "(" "and" predicate* ")"
///     predicate = "(" "=" field value ")"            ; equality
///               | "(" "in" addr-field prefix ")"     ; 10.0.0.0/8, 2001:db8::/32, bare address = full length
///               | "(" "range" field value value ")"  ; inclusive, lo ≤ hi
///               | "(" "mask" field value value ")"   ; field & mask == value, value ⊆ mask
///               | "(" "bytes" "payload" offset hex [":mask" hex] ")"
///                                                  ; payload bytes at offset 0…256, 1…64 of them,
///                                                  ; hex in a string ("1337c0de"), mask as long
///     action    = "(" "drop" ")" | "(" "pass" ")" | "(" "count" ")" | "(" "rate-limit" pps ")" | "(" "syn-auth" ")" | "(" "flow-check" ")"
///     option    = ":id" u32 | ":priority" i32 | ":burst" n | ":ttl" n["s"|"m"|"h"|"d"]
///               | ":name" string | ":created" ns | ":explain" string
///     value     = decimal | 0xhex | symbol of the field (udp, syn|ack, ephemeral, 10.0.0.1, …)
///     string    = '"' chars with \" \\ \n \t \r \u{hex} '"'
///
/// `(= src_ip 2001:db8::1)` reads as the prefix `/128` (an exact IPv6 address).
/// Each option may appear once; `:burst` only with `rate-limit`. A rule without `:id` gets id 0
/// (``RuleFile`` numbers such rules instead).
public enum RuleParser {
    /// Parses one rule; `line` is used in error positions.
    public static func parse(_ text: some StringProtocol, line: Int = 1) throws(RuleParseError) -> Rule {
        try parseLine(text, line: line).rule
    }

    /// The rule and whether it named its id.
    static func parseLine(_ text: some StringProtocol, line: Int) throws(RuleParseError) -> (rule: Rule, hasID: Bool) {
        var s = String(text)
        var result: Result<(rule: Rule, hasID: Bool), RuleParseError>!
        s.withUTF8 { utf8 in result = Result { () throws(RuleParseError) in try parseLine(bytes: utf8, line: line) } }
        return try result.get()
    }

    /// The same from one line's UTF-8 (``RuleFile`` cuts a file's lines as bytes), read in place.
    static func parseLine(bytes: UnsafeBufferPointer<UInt8>, line: Int) throws(RuleParseError) -> (rule: Rule, hasID: Bool) {
        var p = Parser(lexer: RuleLexer(bytes: bytes, line: line))
        return try p.rule()
    }

    static var operators: [String] { Operator.words.names }
    static var actions: [String] { ActionWord.words.names }
    static var options: [String] { Option.words.names }

    /// The grammar's words, each list one enum whose raw values are the words.
    enum Operator: String, CaseIterable, Sendable {
        case equals = "=", `in`, range, mask, bytes
        static let words = Words<Self>()
    }
    enum ActionWord: String, CaseIterable, Sendable {
        case drop, pass, count, rateLimit = "rate-limit", synAuth = "syn-auth", flowCheck = "flow-check"
        static let words = Words<Self>()
    }
    /// The bit `1 << index` of an option is its place in the set of those a rule gave.
    enum Option: String, CaseIterable, Sendable {
        case id = ":id", priority = ":priority", burst = ":burst", ttl = ":ttl", name = ":name", created = ":created", explain = ":explain"
        static let words = Words<Self>()
        var bit: UInt8 { 1 << Self.words.cases.firstIndex(of: self)! }
    }

    /// A list of words, found by an atom's bytes.
    struct Words<W: RawRepresentable & CaseIterable & Equatable & Sendable>: Sendable where W.RawValue == String {
        let cases = Array(W.allCases)
        var names: [String] { cases.map(\.rawValue) }
        private let utf8 = W.allCases.map { Array($0.rawValue.utf8) }

        func find(_ bytes: UnsafeBufferPointer<UInt8>?) -> W? {
            guard let bytes, let i = utf8.firstIndex(where: { $0.sameBytes(as: bytes) }) else { return nil }
            return cases[i]
        }
    }
}

extension Rule {
    /// Parses the text form (see ``RuleParser``).
    public init(parsing text: some StringProtocol) throws(RuleParseError) {
        self = try RuleParser.parse(text)
    }
}

private struct Parser {
    typealias Operator = RuleParser.Operator
    typealias Option = RuleParser.Option

    var lexer: RuleLexer
    /// The `0` of a `(rate-limit 0)`, refused unless the rule gives a `:burst`.
    var zeroRate: RuleLexer.Token?
    /// The keyword of a `(syn-auth)` or `(flow-check)`, whose match is checked once it is known.
    var connectionAction: RuleLexer.Token?

    func fail(_ t: RuleLexer.Token, _ expected: String, among candidates: [String] = []) -> RuleParseError {
        RuleParseError(line: lexer.line, column: lexer.column(at: t.offset), expected: expected, found: lexer.found(t),
                       suggestion: lexer.text(t).flatMap { RuleParseError.nearest($0, in: candidates) })
    }

    mutating func expectOpen(_ expected: String) throws(RuleParseError) {
        let t = try lexer.next()
        guard t.kind == .open else { throw fail(t, expected) }
    }

    mutating func expectClose() throws(RuleParseError) {
        let t = try lexer.next()
        guard t.kind == .close else { throw fail(t, "\")\"") }
    }

    mutating func rule() throws(RuleParseError) -> (rule: Rule, hasID: Bool) {
        try expectOpen("\"(\" to start a rule")
        let head = try lexer.next()
        guard lexer.isAtom(head, "rule") else { throw fail(head, "\"rule\"", among: ["rule"]) }
        let predicates = try match()
        var rule = Rule(match: predicates, action: try action())
        var seen: UInt8 = 0
        while true {
            let t = try lexer.next()
            if t.kind == .close { break }
            guard let option = Option.words.find(lexer.utf8(t)) else {
                throw fail(t, "an option (\(RuleParser.options.joined(separator: ", "))) or \")\"",
                           among: RuleParser.options)
            }
            guard seen & option.bit == 0 else { throw fail(t, "each option at most once") }
            seen |= option.bit
            try self.option(option, at: t, into: &rule)
        }
        // A rate of 0 would drop every match while looking like a limit: (drop) says that.
        // With an explicit :burst it passes that many and then drops, which is a limit.
        if let z = zeroRate, case .rateLimit(0, nil) = rule.action {
            throw fail(z, "a rate in packets per second ≥ 1 (use (drop) to drop everything)")
        }
        // syn-auth and flow-check hold only on the packets they can judge (Rule.validate).
        if let a = connectionAction {
            do { try rule.validate() } catch {
                if error == .synAuthNeedsSYN {
                    throw fail(a, "a match of TCP connection requests for (syn-auth): (= proto tcp) and (= tcp_flags syn)")
                }
                if error == .flowCheckNeedsEstablished {
                    throw fail(a, "a TCP match without connection requests for (flow-check): (= proto tcp) and a tcp_flags test requiring ack")
                }
            }
        }
        let end = try lexer.next()
        guard end.kind == .end else { throw fail(end, "the end of the line") }
        return (rule, seen & Option.id.bit != 0)
    }

    mutating func match() throws(RuleParseError) -> [Predicate] {
        try expectOpen("a match like (= proto udp) or (and …)")
        let op = try lexer.next()
        guard lexer.isAtom(op, "and") else { return [try predicate(op)] }
        var list: [Predicate] = []
        list.reserveCapacity(4)
        while true {
            let t = try lexer.next()
            if t.kind == .close { return list }
            guard t.kind == .open else { throw fail(t, "a predicate in parentheses or \")\"") }
            let inner = try lexer.next()
            list.append(try predicate(inner))
        }
    }

    /// Parses a predicate whose "(" is consumed and whose operator is `op`.
    mutating func predicate(_ op: RuleLexer.Token) throws(RuleParseError) -> Predicate {
        guard let op = Operator.words.find(lexer.utf8(op)) else {
            throw fail(op, "a predicate (\"=\", \"in\", \"range\", \"mask\", \"bytes\")", among: RuleParser.operators + ["and"])
        }
        if op == .bytes { return try bytes() }
        let ft = try lexer.next()
        guard let fname = lexer.utf8(ft), let field = RuleField(utf8: fname) else {
            throw fail(ft, "a field name", among: RuleField.allCases.map(\.rawValue))
        }
        let p: Predicate
        switch op {
        case .equals:
            let t = try lexer.next()
            if field.isAddress, let b = lexer.utf8(t), b.contains(UInt8(ascii: ":")), let a = IPAddress(String(decoding: b, as: UTF8.self)), !a.isV4 {
                p = .prefix(field, a, length: 128)
            } else {
                p = .equals(field, try value(field, t))
            }
        case .in:
            guard field.isAddress else { throw fail(ft, "an address field (src_ip, dst_ip)", among: ["src_ip", "dst_ip"]) }
            p = try prefix(field)
        case .range:
            let lo = try value(field, try lexer.next())
            let ht = try lexer.next()
            let hi = try value(field, ht)
            guard lo <= hi else { throw fail(ht, "an upper bound ≥ \(field.format(lo))") }
            p = .range(field, lo...hi)
        case .mask, .bytes:
            let m = try value(field, try lexer.next())
            let vt = try lexer.next()
            let v = try value(field, vt)
            guard v & ~m == 0 else { throw fail(vt, "a value within the mask \(Predicate.maskOperand(field, m))") }
            p = .mask(field, mask: m, value: v)
        }
        try expectClose()
        return p
    }

    /// `(bytes payload OFFSET "HEX" [:mask "HEX"])` after its operator.
    mutating func bytes() throws(RuleParseError) -> Predicate {
        let at = try lexer.next()
        guard lexer.text(at) == PayloadMatch.anchor else { throw fail(at, "the anchor \"payload\"", among: [PayloadMatch.anchor]) }
        let ot = try lexer.next()
        guard let os = lexer.text(ot), let offset = Int(os), (0...PayloadMatch.maxOffset).contains(offset) else {
            throw fail(ot, "a payload offset 0…\(PayloadMatch.maxOffset)")
        }
        let value = try hex(try lexer.next(), "the bytes as a hex string like \"1337c0de\" (1…\(PayloadMatch.maxLength) bytes)")
        var mask: [UInt8]?
        var t = try lexer.next()
        if lexer.isAtom(t, ":mask") {
            let mt = try lexer.next()
            let m = try hex(mt, "a mask as a hex string as long as the bytes")
            guard m.count == value.count else { throw fail(mt, "a mask of \(value.count) bytes, as long as the value") }
            for i in m.indices where value[i] & ~m[i] != 0 {
                throw fail(mt, "a mask covering every set bit of the value (byte \(i))")
            }
            mask = m
            t = try lexer.next()
        }
        guard t.kind == .close else { throw fail(t, "\")\" or :mask", among: [":mask"]) }
        return .bytes(PayloadMatch(offset: offset, value: value, mask: mask))
    }

    mutating func hex(_ t: RuleLexer.Token, _ expected: String) throws(RuleParseError) -> [UInt8] {
        guard case .string(let s) = t.kind, let b = PayloadMatch.bytes(hex: s), b.count <= PayloadMatch.maxLength else {
            throw fail(t, expected)
        }
        return b
    }

    mutating func value(_ field: RuleField, _ t: RuleLexer.Token) throws(RuleParseError) -> UInt64 {
        guard let b = lexer.utf8(t), let v = field.parseValue(utf8: b) else {
            throw fail(t, field.valueHint, among: field.symbolNames)
        }
        return v
    }

    mutating func prefix(_ field: RuleField) throws(RuleParseError) -> Predicate {
        let t = try lexer.next()
        let expected = "an address prefix like 10.0.0.0/8 or 2001:db8::/32"
        guard let b = lexer.utf8(t) else { throw fail(t, expected) }
        switch IPPrefix.parse(utf8: b) {
        case .success(let p):
            return .prefix(field, p.address, length: p.length)
        case .failure(.address):
            throw fail(t, expected)
        case .failure(.length(_, let maxLen, let offset)):
            // The token from the length on: what the error quotes.
            var lt = t
            lt.offset += offset   /* the address before it is ASCII: characters are bytes */
            throw fail(lt, "a prefix length 0…\(maxLen)")
        }
    }

    mutating func action() throws(RuleParseError) -> Action {
        try expectOpen("an action like (drop) or (rate-limit 5000)")
        let t = try lexer.next()
        let a: Action
        switch RuleParser.ActionWord.words.find(lexer.utf8(t)) {
        case .drop: a = .drop
        case .pass: a = .pass
        case .count: a = .count
        case .synAuth: a = .synAuth; connectionAction = t
        case .flowCheck: a = .flowCheck; connectionAction = t
        case .rateLimit:
            let r = try lexer.next()
            guard let b = lexer.utf8(r), let pps = RuleField.parseNumber(utf8: b) else {
                throw fail(r, "a rate in packets per second ≥ 1 (use (drop) to drop everything)")
            }
            if pps == 0 { zeroRate = r }
            a = .rateLimit(pps: pps, burst: nil)
        case nil:
            throw fail(t, "an action (\"drop\", \"pass\", \"count\", \"rate-limit\", \"syn-auth\", \"flow-check\")", among: RuleParser.actions)
        }
        try expectClose()
        return a
    }

    mutating func option(_ option: Option, at ot: RuleLexer.Token, into rule: inout Rule) throws(RuleParseError) {
        let t = try lexer.next()
        switch option {
        case .id:
            guard let b = lexer.utf8(t), let n = RuleField.parseNumber(utf8: b), n <= UInt32.max else {
                throw fail(t, "a rule id 0…\(UInt32.max)")
            }
            rule.id = UInt32(n)
        case .priority:
            guard let s = lexer.text(t), let n = Int32(s), s.first != "+" else {
                throw fail(t, "a priority \(Int32.min)…\(Int32.max)")
            }
            rule.priority = n
        case .burst:
            guard case .rateLimit(let pps, _) = rule.action else {
                throw fail(ot, "\":burst\" only with (rate-limit …)")
            }
            guard let b = lexer.utf8(t), let n = RuleField.parseNumber(utf8: b), n <= TokenBucket.maxBurst else {
                throw fail(t, "a burst 0…\(TokenBucket.maxBurst) packets")
            }
            rule.action = .rateLimit(pps: pps, burst: n)
        case .ttl:
            guard let s = lexer.text(t), let secs = Self.duration(s) else {
                throw fail(t, "a duration like 300s, 5m, 2h or 1d")
            }
            rule.ttlSeconds = secs
        case .created:
            guard let b = lexer.utf8(t), let n = RuleField.parseNumber(utf8: b) else {
                throw fail(t, "a timestamp in nanoseconds")
            }
            rule.createdAt = n
        case .name, .explain:
            guard case .string(let s) = t.kind else { throw fail(t, "a string in double quotes") }
            if option == .name { rule.name = s } else { rule.explanation = s }
        }
    }

    /// Whole seconds from `N`, `Ns`, `Nm`, `Nh`, `Nd`; nil if malformed or beyond `UInt32`.
    static func duration(_ s: String) -> UInt32? {
        var digits = Substring(s)
        var unit: UInt64 = 1
        switch s.last {
        case "s": digits = digits.dropLast()
        case "m": digits = digits.dropLast(); unit = 60
        case "h": digits = digits.dropLast(); unit = 3600
        case "d": digits = digits.dropLast(); unit = 86400
        default: break
        }
        guard let n = RuleField.parseNumber(String(digits)) else { return nil }
        let (total, overflow) = n.multipliedReportingOverflow(by: unit)
        guard !overflow, total <= UInt32.max else { return nil }
        return UInt32(total)
    }
}
