import Packets
import Rules
import Testing

@Suite("nftables export")
struct NftablesExportTests {
    @Test func rulesInPriorityOrderWithTheirActions() throws {
        let rules = try RuleFile.parse("""
            (rule (and (= proto udp) (= src_port 53) (in src_ip 10.0.0.0/8)) (rate-limit 5000) :id 3 :priority 100 :burst 100)
            (rule (and (= proto tcp) (= tcp_flags syn) (= dst_ip 198.51.100.10) (= ttl 243)) (drop) :id 9 :priority 200 :name "holon-incident-1")
            (rule (and (= proto icmp) (= icmp_type 8) (= size_class larger)) (pass) :id 1 :priority 100)
            (rule (and (= df 1) (range frag_offset 1 8191)) (count) :id 4 :priority 10)
            """)
        let text = try NftablesExport.ruleset(rules)
        let body = text.split(separator: "\n").filter { $0.hasPrefix("\t\t") && !$0.contains("type filter") }.map { String($0.dropFirst(2)) }
        #expect(body == [
            #"meta l4proto 6 tcp flags == 0x2 ip daddr 198.51.100.10 ip ttl 243 counter drop comment "holon 9 holon-incident-1""#,
            #"meta l4proto 1 icmp type 8 ip length 513-1024 counter accept comment "holon 1""#,
            #"meta l4proto 17 udp sport 53 ip saddr 10.0.0.0/8 limit rate over 5000/second burst 100 packets counter drop comment "holon 3""#,
            #"meta l4proto 17 udp sport 53 ip saddr 10.0.0.0/8 counter accept comment "holon 3""#,
            #"ip frag-off & 0x4000 != 0 ip frag-off & 0x1fff 1-8191 counter accept comment "holon 4""#,
        ])
        #expect(text.contains("table inet holon\ndelete table inet holon\ntable inet holon {"))
        #expect(text.contains("type filter hook prerouting priority -450; policy accept;"))
        let dev = try NftablesExport.ruleset(rules, table: "t", device: "eth0")
        #expect(dev.contains(#"table netdev t {"#) && dev.contains(#"type filter hook ingress device "eth0" priority -500"#))
    }

    /// The filter passes an allowlisted source whatever rule it meets; the ruleset dropped
    /// them (it had no allowlist), the resolvers and peers the host never drops.
    @Test func theAllowlistIsAcceptedBeforeAnyRule() throws {
        let rules = try RuleFile.parse("(rule (and (= proto udp) (= dst_port 53)) (drop) :id 2 :priority 100)")
        let text = try NftablesExport.ruleset(rules, allowlist: [IPPrefix("192.0.2.53")!, IPPrefix("2001:db8::/32")!, IPPrefix("10.1.2.3/8")!])
        let body = text.split(separator: "\n").filter { $0.hasPrefix("\t\t") && !$0.contains("type filter") }.map { String($0.dropFirst(2)) }
        #expect(body == [
            #"ip saddr { 192.0.2.53/32, 10.0.0.0/8 } counter accept comment "holon allowlist""#,
            #"ip6 saddr { 2001:db8::/32 } counter accept comment "holon allowlist""#,
            #"meta l4proto 17 udp dport 53 counter drop comment "holon 2""#,
        ])
    }

    /// A blocklist was a rule per entry, each tried in turn for every packet (a million:
    /// `nft -f` took 5 GB and 33 s to check them). Consecutive rules of one action that differ
    /// in one address or port are one rule over a set; anything between them, another action,
    /// a rate limit or a second difference keeps rules apart.
    @Test func aRunOfRulesDifferingInOneAddressIsOneRuleOverASet() throws {
        let rules = try RuleFile.parse("""
            (rule (and (= proto udp) (= dst_port 9) (= src_ip 192.0.2.1)) (drop) :id 10 :priority 50)
            (rule (and (= proto udp) (= dst_port 9) (= src_ip 192.0.2.2)) (drop) :id 11 :priority 50)
            (rule (and (= proto udp) (= dst_port 9) (in src_ip 198.51.100.0/24)) (drop) :id 12 :priority 50)
            (rule (and (= proto udp) (= dst_port 9) (= src_ip 192.0.2.2)) (drop) :id 13 :priority 50)
            (rule (and (= proto udp) (= dst_port 9) (= src_ip 192.0.2.9)) (pass) :id 20 :priority 60)
            (rule (and (= proto udp) (= dst_port 53) (= src_ip 192.0.2.3)) (drop) :id 30 :priority 40)
            (rule (and (= proto udp) (= dst_port 54) (= src_ip 192.0.2.4)) (drop) :id 31 :priority 40)
            (rule (and (= proto tcp) (= dst_port 80)) (rate-limit 100) :id 40 :priority 30)
            (rule (and (= proto tcp) (= dst_port 81)) (rate-limit 100) :id 41 :priority 30)
            (rule (and (= proto tcp) (= dst_port 443)) (count) :id 50 :priority 20)
            (rule (and (= proto tcp) (range dst_port 8000 8080)) (count) :id 51 :priority 20)
            """)
        let text = try NftablesExport.ruleset(rules)
        let body = text.split(separator: "\n").filter { $0.hasPrefix("\t\t") && !$0.contains("type filter") && !$0.hasPrefix("\t\t\t") }
            .map { String($0.dropFirst(2)) }
        #expect(body == [
            "typeof ip saddr", "flags interval", "auto-merge", "elements = {", "}",
            "typeof tcp dport", "flags interval", "auto-merge", "elements = {", "}",
            #"meta l4proto 17 udp dport 9 ip saddr 192.0.2.9 counter accept comment "holon 20""#,
            #"meta l4proto 17 udp dport 9 ip saddr @rules_1 counter drop comment "holon 10 … 13 (4 rules)""#,
            #"meta l4proto 17 udp dport 53 ip saddr 192.0.2.3 counter drop comment "holon 30""#,
            #"meta l4proto 17 udp dport 54 ip saddr 192.0.2.4 counter drop comment "holon 31""#,
            #"meta l4proto 6 tcp dport 80 limit rate over 100/second counter drop comment "holon 40""#,
            #"meta l4proto 6 tcp dport 80 counter accept comment "holon 40""#,
            #"meta l4proto 6 tcp dport 81 limit rate over 100/second counter drop comment "holon 41""#,
            #"meta l4proto 6 tcp dport 81 counter accept comment "holon 41""#,
            #"meta l4proto 6 tcp dport @rules_2 counter accept comment "holon 50 … 51 (2 rules)""#,
        ])
        #expect(text.contains("\tset rules_1 {\n\t\ttypeof ip saddr\n\t\tflags interval\n\t\tauto-merge\n\t\telements = {\n\t\t\t192.0.2.1, 192.0.2.2, 198.51.100.0/24\n\t\t}\n\t}"),
                "each value once, in the rules' order")
        #expect(text.contains("elements = {\n\t\t\t443, 8000-8080\n\t\t}"))
        #expect(text.range(of: "set rules_2")!.lowerBound < text.range(of: "chain filter")!.lowerBound, "sets before the chain that names them")
    }

    @Test func portsWithoutAProtocolNameBothTransports() throws {
        let r = try RuleFile.parse("(rule (and (= dst_port 123)) (drop) :id 1)")
        #expect(try NftablesExport.ruleset(r).contains("meta l4proto { tcp, udp } th dport 123 counter drop"))
    }

    @Test func tcpUrgentPointerIsUrgptr() throws {
        let r = try RuleFile.parse("(rule (and (= proto tcp) (range tcp_urgent_ptr 1 65535)) (drop) :id 3)")
        #expect(try NftablesExport.ruleset(r).contains("meta l4proto 6 tcp urgptr 1-65535 counter drop"))
    }

    @Test func classesBandsAndFlagsExportTheHeaderValuesTheySelect() throws {
        for (text, expected) in [
            ("(range size_class 0 2)", "ip length 0-256"),
            ("(mask size_class 5 1)", "ip length { 65-128, 257-512 }"),
            ("(and (in dst_ip 2001:db8::/32) (= size_class tiny))", "ip6 length 0-24"),
            ("(range src_port_band 1 2)", "th sport 1024-65535"),
            ("(mask dst_port_band 1 0)", "th dport { 0-1023, 49152-65535 }"),
            ("(= df 1)", "ip frag-off & 0x4000 != 0"),
            ("(range mf 0 1)", "ip version 4"),
        ] {
            let r = try RuleFile.parse("(rule \(text) (drop) :id 1)")
            #expect(try NftablesExport.ruleset(r).contains("\(expected) counter drop"), "\(text)")
        }
    }

    @Test func whatNftablesCannotSayIsAnError() throws {
        for (text, reason) in [
            ("(rule (and (= payload_len 100)) (drop) :id 5)", "payload_len"),
            ("(rule (and (in src_ip 2001:db8::/32) (= df 1)) (drop) :id 6)", "IPv4 header field"),
        ] {
            let rules = try RuleFile.parse(text)
            #expect(throws: NftablesExportError.self) { _ = try NftablesExport.ruleset(rules) }
            do { _ = try NftablesExport.ruleset(rules) } catch { #expect(error.description.contains(reason)) }
        }
    }
}
