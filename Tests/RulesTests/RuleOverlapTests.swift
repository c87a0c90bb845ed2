import Packets
import Rules
import Testing

/// Whether two matches can take the same packet: "no" only when provable.
struct RuleOverlapTests {
    func rule(_ text: String) throws -> Rule { try Rule(parsing: text) }

    @Test(arguments: [
        ("(= proto udp)", "(= proto tcp)", false),
        ("(= proto udp)", "(= dst_port 53)", true),
        ("(and (= proto udp) (= dst_port 53))", "(and (= proto udp) (range dst_port 1000 2000))", false),
        ("(and (= proto udp) (range dst_port 50 60))", "(= dst_port 53)", true),
        ("(in src_ip 10.0.0.0/8)", "(in src_ip 10.1.0.0/16)", true),
        ("(in src_ip 10.0.0.0/8)", "(in src_ip 11.0.0.0/8)", false),
        ("(= src_ip 10.1.2.3)", "(in src_ip 10.0.0.0/8)", true),
        ("(= src_ip 12.1.2.3)", "(in src_ip 10.0.0.0/8)", false),
        ("(in src_ip 2001:db8::/32)", "(in src_ip 10.0.0.0/8)", false),
        ("(= tcp_flags syn)", "(mask tcp_flags 0x02 0x02)", true),
        ("(= tcp_flags ack)", "(mask tcp_flags 0x02 0x02)", false),
        ("(mask tcp_flags 0x02 0x02)", "(mask tcp_flags 0x12 0x10)", false),
        ("(mask tcp_flags 0x02 0x02)", "(mask tcp_flags 0x10 0x10)", true),
        ("(mask tcp_flags 0x02 0x02)", "(mask tcp_flags 0x02 0x00)", false),
        ("(and (= proto udp) (bytes payload 0 \"dead\"))", "(and (= proto udp) (bytes payload 0 \"beef\"))", true),
    ])
    func overlap(_ a: String, _ b: String, _ expected: Bool) throws {
        let x = try rule("(rule \(a) (drop) :id 1)"), y = try rule("(rule \(b) (drop) :id 2)")
        #expect(x.mayOverlap(y) == expected && y.mayOverlap(x) == expected)
    }

    @Test func aSourceRange() throws {
        let r = try rule("(rule (and (= proto udp) (in src_ip 203.0.113.0/24)) (drop) :id 1)")
        #expect(r.mayMatchSource(in: IPPrefix("203.0.113.7/32")!))
        #expect(!r.mayMatchSource(in: IPPrefix("192.0.2.53/32")!))
        #expect(try rule("(rule (= proto udp) (drop) :id 1)").mayMatchSource(in: IPPrefix("192.0.2.53/32")!))
    }
}
