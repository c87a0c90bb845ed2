import Foundation
import Testing
import Rules

@Suite struct RuleJSONTests {
    func encode(_ r: Rule) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(r), as: UTF8.self)
    }

    func decode(_ s: String) throws -> Rule {
        try JSONDecoder().decode(Rule.self, from: Data(s.utf8))
    }

    @Test func documentedShape() throws {
        let r = try Rule(parsing: #"(rule (and (= proto udp) (in src_ip 10.0.0.0/8) (range ip_len 1000 1500) (mask tcp_flags syn|ack syn)) (rate-limit 5000) :id 1 :priority 100 :burst 500 :ttl 300s :explain "why")"#)
        let json = try encode(r)
        #expect(json == #"{"action":{"burst":500,"rate_limit":5000},"explanation":"why","id":1,"match":[{"eq":17,"field":"proto"},{"field":"src_ip","prefix":"10.0.0.0\/8"},{"field":"ip_len","range":[1000,1500]},{"field":"tcp_flags","mask":18,"value":2}],"priority":100,"ttl_s":300}"#)
        #expect(try decode(json) == r)
        #expect(try encode(Rule(id: 2, action: .drop)) == #"{"action":"drop","id":2,"match":[],"priority":0}"#)
    }

    @Test func forgivingDecode() throws {
        let r = try decode(#"{"id":3,"match":[{"field":"proto","eq":"udp"},{"field":"tcp_flags","mask":"syn|ack","value":"syn"},{"field":"dst_ip","eq":"2001:db8::1"},{"field":"size_class","range":["large","jumbo"]},{"field":"src_ip","eq":"10.0.0.1"}],"action":"count"}"#)
        #expect(r == Rule(id: 3, match: [.equals(.proto, 17), .mask(.tcpFlags, mask: 0x12, value: 0x02),
                                         .prefix(.dstIP, v6("2001:db8::1"), length: 128), .range(.sizeClass, 3...6),
                                         .equals(.srcIP, 0x0A00_0001)], action: .count))
    }

    @Test func rejectsBadInput() {
        let bad = [
            #"{"match":[],"action":"drop"}"#,                                        // no id
            #"{"id":1,"action":"drop"}"#,                                            // no match
            #"{"id":1,"match":[]}"#,                                                 // no action
            #"{"id":1,"match":[],"action":"explode"}"#,
            #"{"id":1,"match":[{"field":"srcport","eq":1}],"action":"drop"}"#,
            #"{"id":1,"match":[{"field":"src_port","eq":70000}],"action":"drop"}"#,
            #"{"id":1,"match":[{"field":"src_port"}],"action":"drop"}"#,
            #"{"id":1,"match":[{"field":"src_ip","prefix":"10.0.0.0/33"}],"action":"drop"}"#,
            #"{"id":1,"match":[{"field":"src_port","prefix":"10.0.0.0/8"}],"action":"drop"}"#,
            #"{"id":1,"match":[{"field":"ip_len","range":[5,1]}],"action":"drop"}"#,
            #"{"id":1,"match":[{"field":"ip_len","range":[1,2,3]}],"action":"drop"}"#,
            #"{"id":1,"match":[{"field":"tcp_flags","mask":2,"value":16}],"action":"drop"}"#,
            #"{"id":1,"match":[],"action":{"rate_limit":5,"burst":1000000001}}"#,
        ]
        for s in bad {
            #expect(throws: DecodingError.self, "\(s)") { try decode(s) }
        }
    }

    @Test func randomRulesRoundTrip() throws {
        var g = RandomRules(seed: 99)
        let rules = (0..<2000).map { _ in g.rule() }
        let data = try JSONEncoder().encode(rules)
        #expect(try JSONDecoder().decode([Rule].self, from: data) == rules)
    }
}
