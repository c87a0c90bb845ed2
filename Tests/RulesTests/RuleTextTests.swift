import Packets
import Testing
import Rules

@Suite struct RuleTextTests {
    @Test func designExampleParses() throws {
        let text = "(rule (and (= proto udp) (= src_port 53) (in src_ip 10.0.0.0/8)) (rate-limit 5000) :priority 100 :ttl 300s)"
        let r = try Rule(parsing: text)
        #expect(r.predicates == [.equals(.proto, 17), .equals(.srcPort, 53), .prefix(.srcIP, v4("10.0.0.0"), length: 8)])
        #expect(r.action == .rateLimit(pps: 5000, burst: nil))
        #expect(r.priority == 100)
        #expect(r.ttlSeconds == 300)
        #expect(r.ttl == .seconds(300))
        #expect(r.id == 0)
        // The example is already canonical.
        #expect(r.text == text)
    }

    @Test func handWrittenForms() throws {
        let cases: [(String, Rule)] = [
            ("(rule (range ip_len 1000 1500) (drop) :id 7)",
             Rule(id: 7, match: [.range(.ipLen, 1000...1500)], action: .drop)),
            ("(rule (mask tcp_flags syn|ack syn) (count))",
             Rule(match: [.mask(.tcpFlags, mask: 0x12, value: 0x02)], action: .count)),
            ("(rule (and) (pass) :priority -3)",
             Rule(match: [], action: .pass, priority: -3)),
            ("(rule (= proto tcp) (rate-limit 100) :burst 500)",
             Rule(match: [.equals(.proto, 6)], action: .rateLimit(pps: 100, burst: 500))),
            (#"(rule (= dst_port 443) (drop) :explain "text with \" escapes")"#,
             Rule(match: [.equals(.dstPort, 443)], action: .drop, explanation: "text with \" escapes")),
            ("(rule (in dst_ip 2001:db8::/32) (drop) :name \"v6\" :created 1700000000000000000)",
             Rule(match: [.prefix(.dstIP, v6("2001:db8::"), length: 32)], action: .drop, name: "v6", createdAt: 1_700_000_000_000_000_000)),
            ("(rule (and (= size_class jumbo) (= src_port_band ephemeral) (= direction inbound)) (drop))",
             Rule(match: [.equals(.sizeClass, 6), .equals(.srcPortBand, 2), .equals(.direction, 0)], action: .drop)),
            ("(rule (= src_ip 10.1.2.3) (drop))",
             Rule(match: [.equals(.srcIP, 0x0A01_0203)], action: .drop)),
            ("(rule (mask frag_offset 0x1fff 0x0) (drop))",
             Rule(match: [.mask(.fragOffset, mask: 0x1FFF, value: 0)], action: .drop)),
        ]
        for (text, rule) in cases {
            let parsed = try Rule(parsing: text)
            #expect(parsed == rule, "\(text)")
            #expect(parsed.text == text, "canonical form of \(text)")
        }
    }

    @Test func lenientInputsPrintCanonically() throws {
        let cases: [(String, String)] = [
            ("  ( rule  (and (= proto 17)) ( drop ) ) ; comment",
             "(rule (= proto udp) (drop))"),
            ("(rule (= tcp_flags ack|syn) (drop) :ttl 5m :id 0x10)",
             "(rule (= tcp_flags syn|ack) (drop) :id 16 :ttl 300s)"),
            ("(rule (in src_ip 10.0.0.1) (drop) :ttl 2h)",
             "(rule (in src_ip 10.0.0.1/32) (drop) :ttl 7200s)"),
            ("(rule (= dst_ip 2001:db8::1) (drop) :ttl 1d)",
             "(rule (= dst_ip 2001:db8::1) (drop) :ttl 86400s)"),
            ("(rule (= proto 0x2f) (drop) :ttl 30)",
             "(rule (= proto gre) (drop) :ttl 30s)"),
            ("(rule (range src_port_band 0 registered) (drop))",
             "(rule (range src_port_band well-known registered) (drop))"),
        ]
        for (input, canonical) in cases {
            let r = try Rule(parsing: input)
            #expect(r.text == canonical)
            #expect(try Rule(parsing: canonical) == r)
        }
    }

    @Test func stringEscapesRoundTrip() throws {
        let s = "quote \" backslash \\ nl \n tab \t cr \r ctl \u{1} del \u{7F} ls \u{2028} é → ; ( )"
        let r = Rule(match: [], action: .drop, name: s, explanation: s)
        #expect(!r.text.contains("\n"))
        #expect(try Rule(parsing: r.text) == r)
        #expect(try Rule(parsing: #"(rule (and) (drop) :explain "\u{41}\u{1F600}")"#).explanation == "A\u{1F600}")
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func randomRulesRoundTrip(seed: UInt64) throws {
        var g = RandomRules(seed: seed)
        for _ in 0..<2500 {
            let r = g.rule()
            try r.validate()
            let text = r.text
            let back = try Rule(parsing: text)
            #expect(back == r, "\(text)")
            #expect(back.text == text)
        }
    }

    /// Rule text with characters deleted, replaced and inserted (ASCII the grammar gives a
    /// meaning, multi-byte characters, a NUL): it reads as a rule that prints and reads back
    /// as itself, or as an error pointing inside the line. The lexer reads bytes; a column must
    /// still count characters, and no byte of a multi-byte character may end a token.
    @Test(arguments: [5 as UInt64, 6, 7])
    func mutatedRuleTextReadsOrFailsCleanly(seed: UInt64) throws {
        var g = RandomRules(seed: seed)
        var rng = SeededRNG(seed: seed &* 31)
        let alphabet: [Unicode.Scalar] = ["(", ")", "\"", "\\", ";", ":", " ", "\t", "\r", "/", "|", "0", "9", "a", "x", "é", "—", "\u{1F600}", "\u{0}", "\u{2028}"]
        var read = 0
        for _ in 0..<1500 {
            var scalars = Array(g.rule().text.unicodeScalars)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<scalars.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: scalars.remove(at: i)
                case 1: scalars[i] = alphabet.randomElement(using: &rng)!
                default: scalars.insert(alphabet.randomElement(using: &rng)!, at: i)
                }
                if scalars.isEmpty { scalars = ["("] }
            }
            let text = String(String.UnicodeScalarView(scalars))
            do {
                let r = try RuleParser.parse(text, line: 7)
                read += 1
                #expect(try Rule(parsing: r.text) == r, "\(text)")
            } catch {
                #expect(error.line == 7)
                #expect((1...(scalars.count + 1)).contains(error.column), "\(error) in \(text)")
            }
        }
        #expect(read > 0 && read < 1500, "some mutations still read, most do not: \(read)")
    }

    @Test func fileWithCommentsAndIDs() throws {
        let text = """
        ; rules for the lab

        (rule (= proto udp) (drop) :id 10)
          ; indented comment
        (rule (= proto tcp) (drop))   ; trailing comment
        (rule (= proto icmp) (pass) :id 3)\r
        (rule (and) (count))
        """
        let rules = try RuleFile.parse(text)
        #expect(rules.map(\.id) == [10, 11, 3, 12])
        #expect(try RuleFile.parse(RuleFile.print(rules)) == rules)
        #expect(try RuleFile.parse("") == [])
        #expect(try RuleFile.parse("(rule (and) (drop))").map(\.id) == [1])
    }

    @Test func fieldSymbolsRoundTrip() {
        for f in RuleField.allCases {
            var values: [UInt64] = [0, 1, f.maxValue, f.maxValue / 2]
            values += (0...min(f.maxValue, 300)).map { $0 }
            for v in values where v <= f.maxValue {
                #expect(f.parseValue(f.format(v)) == v, "\(f) \(v) → \(f.format(v))")
                #expect(f.parseValue(f.format(v, symbolic: false)) == v)
            }
            #expect(f.maxValue == .max || f.parseValue(String(f.maxValue + 1)) == nil)
        }
        #expect(RuleField.tcpFlags.format(0x12) == "syn|ack")
        #expect(RuleField.tcpFlags.parseValue("fin|syn|rst|psh|ack|urg|ece|cwr") == 0xFF)
        #expect(RuleField.proto.parseValue("icmpv6") == 58)
        #expect(RuleField.dstPortBand.format(0) == "well-known")
    }
}

func v6(_ s: String) -> IPAddress { IPAddress(s)! }
