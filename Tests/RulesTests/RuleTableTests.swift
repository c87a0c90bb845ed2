import Packets
import Testing
import Rules

@Suite struct RuleTableTests {
    /// The rules, padded with rules no test packet can match so the table exceeds the
    /// linear-scan size and lookups go through the tuple-space index (small tables are
    /// covered by `indexAgreesWithNaive` and the counter tests).
    func table(_ lines: String...) throws -> RuleTable {
        var rules = try RuleFile.parse(lines.joined(separator: "\n"))
        for i in 0..<20 {
            let filler: [Predicate] = switch i % 4 {
            case 0: [.equals(.proto, 255), .equals(.srcPort, UInt64(i))]
            case 1: [.prefix(.srcIP, .v4(0xCB00_7100 | UInt32(i)), length: 32)]
            case 2: [.range(.ttl, 0...UInt64(i))]
            default: [.prefix(.dstIP, .v6(high: 0x3FFF_0000_0000_0000, low: UInt64(i)), length: 128), .equals(.proto, 254)]
            }
            rules.append(Rule(id: 10_000 + UInt32(i), match: filler, action: .drop, priority: Int32(i % 3) * 100 - 100))
        }
        return try RuleTable(rules)
    }

    @Test func fieldsMatchTheContract() {
        var g = RandomRules(seed: 5)
        for _ in 0..<2000 {
            let f = g.packet()
            for field in RuleField.allCases {
                let expected = f.value(of: field.rawValue).map { UInt64(bitPattern: Int64($0)) }
                #expect(field.value(in: f) == expected, "\(field)")
            }
        }
    }

    @Test func priorityThenLowerID() throws {
        var t = try table(
            "(rule (= proto udp) (drop) :id 5 :priority 10)",
            "(rule (= src_port 53) (pass) :id 9 :priority 20)",
            "(rule (and) (count) :id 2 :priority 20)",
            "(rule (and) (drop) :id 1 :priority -1)"
        )
        // id 2 and id 9 both match at priority 20: the lower id wins.
        #expect(t.classify(packet()) == Verdict(ruleID: 2, decision: .counted))
        t = try table("(rule (= proto udp) (drop) :id 5 :priority 10)", "(rule (= src_port 53) (pass) :id 9 :priority 20)",
                      "(rule (and) (drop) :id 1 :priority -1)")
        #expect(t.classify(packet()) == Verdict(ruleID: 9, decision: .pass))
        #expect(t.classify(packet(sport: 54)) == Verdict(ruleID: 5, decision: .drop))
        #expect(t.classify(packet(proto: 6, sport: 54)) == Verdict(ruleID: 1, decision: .drop))
        let empty = try RuleTable([])
        var e = empty
        #expect(e.classify(packet()) == Verdict(ruleID: nil, decision: .pass))
        #expect(throws: RuleTableError.duplicateID(3)) {
            try RuleTable([Rule(id: 3, action: .drop), Rule(id: 3, action: .pass)])
        }
        #expect(throws: RuleTableError.invalidRule(id: 4, .prefixOnNonAddress(.ttl))) {
            try RuleTable([Rule(id: 4, match: [.prefix(.ttl, v4("1.2.3.4"), length: 8)], action: .drop)])
        }
    }

    @Test func missingFieldsNeverMatch() throws {
        var t = try table(
            "(rule (= src_port 0) (drop) :id 1)",
            "(rule (range dst_port 0 65535) (drop) :id 2)",
            "(rule (mask tcp_flags 0 0) (drop) :id 3)",
            "(rule (= icmp_type 0) (drop) :id 4)",
            "(rule (= direction inbound) (drop) :id 5)",
            "(rule (range src_port_band well-known ephemeral) (drop) :id 6)"
        )
        // A non-first fragment: no transport header, so no ports, flags or ICMP fields.
        var frag = packet(proto: 17, sport: 0, dport: 0, transport: false)
        frag.fragOffset = 100
        #expect(t.classify(frag).ruleID == nil)
        // ICMP has no ports; a UDP packet has no tcp_flags or icmp_type.
        #expect(t.classify(packet(proto: 1, sport: 0, dport: 0)).ruleID == 4)
        #expect(t.classify(packet(proto: 17, sport: 1)).ruleID == 2)
        var tcp = packet(proto: 6, sport: 1, dport: 1)
        #expect(t.classify(tcp).ruleID == 2)
        tcp.direction = .inbound
        #expect(t.classify(tcp).ruleID == 2)
        t = try table("(rule (= direction inbound) (drop) :id 5)", "(rule (mask tcp_flags 0 0) (drop) :id 3)")
        #expect(t.classify(tcp).ruleID == 3)
        tcp.proto = 17
        #expect(t.classify(tcp).ruleID == 5)
        tcp.direction = nil
        #expect(t.classify(tcp).ruleID == nil)
    }

    @Test func prefixEdges() throws {
        let t = try table(
            "(rule (in src_ip 10.1.2.3/32) (drop) :id 1 :priority 9)",
            "(rule (in src_ip 10.1.2.99/24) (drop) :id 2 :priority 8)",   // host bits ignored
            "(rule (in src_ip 0.0.0.0/0) (drop) :id 3 :priority 7)",
            "(rule (in src_ip 2001:db8::1/128) (drop) :id 4 :priority 9)",
            "(rule (in src_ip 2001:db8::/64) (drop) :id 5 :priority 8)",
            "(rule (in src_ip 2001:db8::/65) (drop) :id 7 :priority 8)",
            "(rule (in src_ip ::/0) (drop) :id 6 :priority 7)",
            "(rule (in dst_ip 128.0.0.0/1) (drop) :id 8 :priority 1)"
        )
        func winner(_ src: String, _ dst: String = "1.1.1.1") -> UInt32? {
            t.matchingRule(for: packet(src: src, dst: dst))?.id
        }
        #expect(winner("10.1.2.3") == 1)
        #expect(winner("10.1.2.4") == 2)
        #expect(winner("10.1.2.255") == 2)
        #expect(winner("10.1.3.0") == 3)
        #expect(winner("255.255.255.255") == 3)
        #expect(winner("2001:db8::1", "::1") == 4)
        #expect(winner("2001:db8::2", "::1") == 5)
        #expect(winner("2001:db8::8000:0:0:0", "::1") == 5)   // bit 64 set: in /64 but not the /65
        #expect(winner("2001:db8::7fff:0:0:0", "::1") == 5)   // lower id among /64 and /65 at priority 8
        #expect(winner("2001:db8:0:1::", "::1") == 6)
        #expect(winner("::", "::1") == 6)
        // Families never cross: an IPv6 packet with a v4 dst rule, a v4 /1 on a v4 dst.
        #expect(t.matchingRule(for: packet(src: "2001:db9::", dst: "::1"))?.id == 6)
        let only1 = try table("(rule (in dst_ip 128.0.0.0/1) (drop) :id 8)")
        #expect(only1.matchingRule(for: packet(dst: "128.0.0.0"))?.id == 8)
        #expect(only1.matchingRule(for: packet(dst: "127.255.255.255")) == nil)
        #expect(only1.matchingRule(for: packet(src: "::1", dst: "8000::")) == nil)
        let v65 = try table("(rule (in src_ip 2001:db8::8000:0:0:0/65) (drop) :id 1)")
        #expect(v65.matchingRule(for: packet(src: "2001:db8::ffff:0:0:1", dst: "::1"))?.id == 1)
        #expect(v65.matchingRule(for: packet(src: "2001:db8::7fff:0:0:1", dst: "::1")) == nil)
    }

    @Test func rangesAndMasks() throws {
        let t = try table(
            "(rule (range ip_len 1000 1500) (drop) :id 1)",
            "(rule (mask tcp_flags syn|ack syn) (drop) :id 2)",
            "(rule (mask tcp_flags rst rst) (count) :id 3)"
        )
        #expect(t.matchingRule(for: packet(ipLen: 999))?.id == nil)
        #expect(t.matchingRule(for: packet(ipLen: 1000))?.id == 1)
        #expect(t.matchingRule(for: packet(ipLen: 1500))?.id == 1)
        #expect(t.matchingRule(for: packet(ipLen: 1501))?.id == nil)
        #expect(t.matchingRule(for: packet(proto: 6, flags: 0x02))?.id == 2)       // SYN
        #expect(t.matchingRule(for: packet(proto: 6, flags: 0x02 | 0x08))?.id == 2) // SYN|PSH
        #expect(t.matchingRule(for: packet(proto: 6, flags: 0x12)) == nil)          // SYN|ACK
        #expect(t.matchingRule(for: packet(proto: 6, flags: 0x14))?.id == 3)        // RST|ACK
        #expect(t.matchingRule(for: packet(proto: 17, flags: 0x02)) == nil)         // UDP: no flags
    }

    @Test func countersAndStateCarry() throws {
        let rules = try RuleFile.parse("""
        (rule (= proto udp) (drop) :id 1)
        (rule (= proto tcp) (count) :id 2)
        (rule (= proto icmp) (rate-limit 1) :burst 2 :id 3)
        """)
        var t = try RuleTable(rules)
        for _ in 0..<3 { _ = t.classify(packet(proto: 17)) }
        for _ in 0..<2 { _ = t.classify(packet(proto: 6)) }
        let icmp = (0..<4).map { _ in t.classify(packet(proto: 1, sport: 0, dport: 0)).decision }
        #expect(icmp == [.pass, .pass, .rateLimited, .rateLimited])
        _ = t.classify(packet(proto: 47))
        #expect(t.allCounters == [1: RuleCounters(hits: 3, drops: 3), 2: RuleCounters(hits: 2), 3: RuleCounters(hits: 4, drops: 2)])
        // Refreshing the ICMP rule (same action) keeps its empty bucket and counters; the UDP
        // rule changed action, so it starts afresh.
        var refreshed = rules
        refreshed[0].action = .pass
        refreshed[2].ttlSeconds = 60
        var t2 = try RuleTable(refreshed, carryingStateFrom: t)
        #expect(t2.classify(packet(proto: 1, sport: 0, dport: 0)).decision == .rateLimited)
        #expect(t2.counters(forRule: 3) == RuleCounters(hits: 5, drops: 3))
        #expect(t2.counters(forRule: 1) == RuleCounters())
        #expect(t2.counters(forRule: 99) == nil)
        t2.reset()
        #expect(t2.classify(packet(proto: 1, sport: 0, dport: 0)).decision == .pass)
        #expect(t2.counters(forRule: 3) == RuleCounters(hits: 1))
    }

    /// The indexed matcher agrees with the plain reading of the semantics on random tables.
    @Test(arguments: [1, 2, 3, 5, 20, 200] as [Int])
    func indexAgreesWithNaive(ruleCount: Int) throws {
        var g = RandomRules(seed: UInt64(ruleCount) &* 7919)
        var matched = 0
        for _ in 0..<10 {
            var ids = Set<UInt32>()
            var rules: [Rule] = []
            while rules.count < ruleCount {
                var r = g.rule(id: UInt32(g.int(0...(ruleCount * 3))))
                r.priority = Int32(g.int(-2...2))
                if ids.insert(r.id).inserted { rules.append(r) }
            }
            let t = try RuleTable(rules)
            for _ in 0..<500 {
                let f = g.packet()
                let expected = naiveWinner(rules, f)?.id
                #expect(t.matchingRule(for: f)?.id == expected)
                if expected != nil { matched += 1 }
            }
        }
        // Not vacuous: a fair share of packets hit some rule. One random rule of up to four
        // predicates over all the table's fields matches about 1 % of random packets.
        #expect(matched > 5000 / (ruleCount == 1 ? 100 : 5))
    }
}
