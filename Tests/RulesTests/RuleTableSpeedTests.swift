import Packets
import Testing
import Rules

/// Measures classify cost and prints it (no timing assertions: machines differ). Numbers worth
/// quoting come from a release build: `swift test -c release --filter RuleTableSpeedTests`.
@Suite(.serialized) struct RuleTableSpeedTests {
    func measure(_ name: String, _ table: RuleTable, _ packets: [PacketFeatures], rounds: Int) -> Double {
        var t = table
        var drops = 0
        let clock = ContinuousClock()
        let start = clock.now
        for r in 0..<rounds {
            for (i, var p) in packets.enumerated() {
                p.timestamp = UInt64(r * packets.count + i) &* 1000
                if !t.classify(p).passes { drops += 1 }
            }
        }
        let elapsed = clock.now - start
        let n = Double(rounds * packets.count)
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print("classify \(name): \(String(format: ns / n)) ns/packet over \(Int(n)) packets, \(table.rules.count) rules, \(table.shapeCount) shapes, \(drops) dropped")
        return ns / n
    }

    func packets(_ g: inout RandomRules, _ n: Int) -> [PacketFeatures] {
        (0..<n).map { _ in g.packet() }
    }

    @Test func tenDetectorRules() throws {
        let rules = try RuleFile.parse("""
        (rule (and (= proto udp) (= src_port 53)) (rate-limit 5000) :priority 100)
        (rule (and (= proto udp) (= src_port 123)) (rate-limit 1000) :priority 100)
        (rule (and (= proto udp) (= src_port 1900)) (drop) :priority 100)
        (rule (and (= proto tcp) (mask tcp_flags syn|ack syn)) (rate-limit 20000) :priority 90)
        (rule (in src_ip 10.1.0.0/16) (pass) :priority 200)
        (rule (in src_ip 192.0.2.0/24) (drop) :priority 150)
        (rule (and (= proto icmp) (range ip_len 1000 65535)) (drop) :priority 80)
        (rule (and (= proto udp) (= frag_offset 0) (= mf 1)) (count) :priority 10)
        (rule (= dst_port 11211) (drop) :priority 100)
        (rule (and (= proto gre) (in dst_ip 198.51.100.0/24)) (drop) :priority 50)
        """)
        var g = RandomRules(seed: 42)
        _ = measure("10 rules", try RuleTable(rules), packets(&g, 4096), rounds: 100)
    }

    @Test func tenThousandBlocklist() throws {
        var rules: [Rule] = (0..<10_000).map { i in
            Rule(id: UInt32(i + 1), match: [.prefix(.srcIP, .v4(0x0A00_0000 | UInt32(i)), length: 32)], action: .drop, priority: 10)
        }
        rules.append(Rule(id: 20_000, match: [.equals(.proto, 17), .equals(.srcPort, 53)], action: .rateLimit(pps: 100, burst: nil)))
        var g = RandomRules(seed: 43)
        _ = measure("10k /32 blocklist", try RuleTable(rules), packets(&g, 4096), rounds: 50)
    }

    @Test func tenThousandRandomRules() throws {
        var g = RandomRules(seed: 44)
        var rules: [Rule] = []
        for i in 0..<10_000 {
            var r = g.rule(id: UInt32(i))
            r.predicates = Array(r.predicates.prefix(2))
            rules.append(r)
        }
        _ = measure("10k random rules", try RuleTable(rules), packets(&g, 1024), rounds: 5)
    }
}

extension String {
    init(format ns: Double) {
        let tenths = Int((ns * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
