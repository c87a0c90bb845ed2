import Foundation
import Packets
import Rules
import Testing

/// `(syn-auth)` and `(flow-check)`: text, JSON, validation, exports, and the reference semantics
/// (ConnectionAuth) the XDP program is held to.
@Suite struct ConnectionAuthTests {
    static let synRule = "(rule (and (= proto tcp) (= tcp_flags syn) (= dst_ip 10.77.0.2) (= dst_port 80)) (syn-auth) :id 7 :priority 100)"
    static let ackRule = "(rule (and (= proto tcp) (= tcp_flags ack) (= dst_port 80)) (flow-check) :id 8)"

    @Test func textRoundTrips() throws {
        for text in [Self.synRule, Self.ackRule] {
            let r = try Rule(parsing: text)
            #expect(r.text == text)
            #expect(try Rule(parsing: r.text) == r)
        }
        #expect(try Rule(parsing: Self.synRule).action == .synAuth)
        #expect(try Rule(parsing: Self.ackRule).action == .flowCheck)
    }

    @Test func jsonRoundTrips() throws {
        for text in [Self.synRule, Self.ackRule] {
            let r = try Rule(parsing: text)
            let data = try JSONEncoder().encode(r)
            #expect(try JSONDecoder().decode(Rule.self, from: data) == r)
        }
        let json = String(decoding: try JSONEncoder().encode(Action.synAuth), as: UTF8.self)
        #expect(json == "\"syn_auth\"")
        #expect(try JSONDecoder().decode(Action.self, from: Data("\"flow_check\"".utf8)) == .flowCheck)
    }

    @Test func synAuthOnlyOnConnectionRequests() {
        for bad in ["(rule (and (= proto udp) (= dst_port 80)) (syn-auth))",
                    "(rule (= tcp_flags syn) (syn-auth))",
                    "(rule (and (= proto tcp) (= tcp_flags 0x12)) (syn-auth))",
                    "(rule (= proto tcp) (syn-auth))"] {
            #expect(throws: (any Error).self, "\(bad)") { try Rule(parsing: bad) }
        }
        let masked = Rule(match: [.equals(.proto, 6), .mask(.tcpFlags, mask: 0x12, value: 0x02)], action: .synAuth)
        #expect(throws: Never.self) { try masked.validate() }
    }

    @Test func flowCheckNeverOnConnectionRequests() {
        for bad in ["(rule (and (= proto tcp) (= tcp_flags syn)) (flow-check))",
                    "(rule (= proto tcp) (flow-check))",
                    "(rule (and (= proto udp) (= tcp_flags ack)) (flow-check))"] {
            #expect(throws: (any Error).self, "\(bad)") { try Rule(parsing: bad) }
        }
        let synAck = Rule(match: [.equals(.proto, 6), .equals(.tcpFlags, 0x12)], action: .flowCheck)
        #expect(throws: Never.self) { try synAck.validate() }
        let anyAck = Rule(match: [.equals(.proto, 6), .mask(.tcpFlags, mask: 0x10, value: 0x10)], action: .flowCheck)
        #expect(throws: Never.self) { try anyAck.validate() }
    }

    @Test func exportsRefuseWithAReason() throws {
        for text in [Self.synRule, Self.ackRule] {
            let r = try Rule(parsing: text)
            #expect(throws: NftablesExportError.self) { try NftablesExport.ruleset([r]) }
        }
    }

    // MARK: Reference semantics

    func syn(_ src: String, sport: UInt16, at ms: UInt64) -> PacketFeatures {
        packet(proto: 6, src: src, dst: "10.77.0.2", sport: sport, dport: 80, flags: 0x02, ts: ms * 1_000_000)
    }

    @Test func firstSYNDroppedRetransmissionPasses() throws {
        var t = try RuleTable([try Rule(parsing: Self.synRule)])
        #expect(t.classify(syn("1.2.3.4", sport: 5000, at: 0)).decision == .drop)
        // A duplicate sooner than a retransmission timeout is not a retransmission.
        #expect(t.classify(syn("1.2.3.4", sport: 5000, at: 100)).decision == .drop)
        #expect(t.classify(syn("1.2.3.4", sport: 5000, at: 1_000)).decision == .pass)
        // The source is authenticated: its next connection (another port) passes at once.
        #expect(t.classify(syn("1.2.3.4", sport: 5001, at: 1_100)).decision == .pass)
        // Another source is not.
        #expect(t.classify(syn("1.2.3.5", sport: 5000, at: 1_100)).decision == .drop)
        // A retransmission from another source port does not count for the first.
        #expect(t.classify(syn("1.2.3.5", sport: 5001, at: 2_200)).decision == .drop)
        #expect(t.counters(forRule: 7) == RuleCounters(hits: 6, drops: 4))
    }

    @Test func aFirstSYNTooOldStartsOver() throws {
        var t = try RuleTable([try Rule(parsing: Self.synRule)])
        #expect(t.classify(syn("1.2.3.4", sport: 5000, at: 0)).decision == .drop)
        #expect(t.classify(syn("1.2.3.4", sport: 5000, at: 31_000)).decision == .drop)
        #expect(t.classify(syn("1.2.3.4", sport: 5000, at: 32_000)).decision == .pass)
    }

    @Test func aRandomFloodNeverAuthenticates() throws {
        var t = try RuleTable([try Rule(parsing: Self.synRule)])
        var rng = SeededRNG(seed: 14)
        var passed = 0
        for i in 0..<50_000 {
            let src = IPAddress.v4(UInt32(truncatingIfNeeded: rng.next()) | 0x6400_0000)
            var f = syn("\(src)", sport: UInt16.random(in: 1024...65535, using: &rng), at: UInt64(i) / 10)
            f.ttl = UInt8.random(in: 32...255, using: &rng)
            if t.classify(f).passes { passed += 1 }
        }
        #expect(passed == 0)
    }

    @Test func flowCheckPassesOnlyConnectionsTheHostHas() throws {
        var t = try RuleTable([try Rule(parsing: Self.ackRule)])
        let ack = packet(proto: 6, src: "1.2.3.4", dst: "10.77.0.2", sport: 5000, dport: 80, flags: 0x10)
        #expect(t.classify(ack).decision == .drop)
        // The host answers the handshake: its SYN-ACK leaves, reversed it is the client's tuple.
        t.observeEgress(packet(proto: 6, src: "10.77.0.2", dst: "1.2.3.4", sport: 80, dport: 5000, flags: 0x12))
        #expect(t.classify(ack).decision == .pass)
        var other = ack
        other.srcPort = 5001
        #expect(t.classify(other).decision == .drop)
        // The host resets it: gone.
        t.observeEgress(packet(proto: 6, src: "10.77.0.2", dst: "1.2.3.4", sport: 80, dport: 5000, flags: 0x04))
        #expect(t.classify(ack).decision == .drop)
    }

    @Test func stateOutlivesTableChanges() throws {
        var t = try RuleTable([try Rule(parsing: Self.synRule)])
        _ = t.classify(syn("1.2.3.4", sport: 5000, at: 0))
        var next = try RuleTable([try Rule(parsing: Self.synRule), try Rule(parsing: Self.ackRule)], carryingStateFrom: t)
        #expect(next.classify(syn("1.2.3.4", sport: 5000, at: 1_000)).decision == .pass)
    }
}
