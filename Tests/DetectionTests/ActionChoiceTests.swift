@testable import Detection
import Packets
import Rules
import Testing

/// Issue 14 §1: a SYN or ACK flood no header separates from users gets an authenticating action
/// scoped to the victim, not a shared rate limit; anything a header does separate keeps its rule.
@Suite struct ActionChoiceTests {
    func tcp(_ flags: UInt8, dst: String = "10.0.0.5", dport: UInt16 = 80, sport: UInt16) -> PacketFeatures {
        var f = PacketFeatures()
        f.ipVersion = 4
        f.proto = 6
        f.srcIP = .v4(0x6400_0000 | UInt32(sport))
        f.dstIP = IPAddress(dst)!
        f.srcPort = sport
        f.dstPort = dport
        f.tcpFlags = flags
        f.hasTransportHeader = true
        return f
    }

    func rule(_ predicates: [Candidate], limit: UInt64?) -> DetectedRule {
        DetectedRule(id: 1, rateLimitPps: limit, derivedAt: 0, explanation: "test", predicates: predicates, baselineShare: 0.1)
    }

    @Test func unseparatedSYNFloodIsAuthenticatedAtTheVictim() {
        let covered = (0..<200).map { tcp(0x02, sport: UInt16(1024 + $0)) }
        let r = ActionChoice.refine(rule([Candidate(field: .proto, kind: .equals(6)), Candidate(field: .tcpFlags, kind: .equals(2))], limit: 115), covering: covered)
        #expect(r.authentication == .synAuth)
        #expect(r.rule().action == .synAuth)
        let text = r.rule().text
        #expect(text.contains("(= dst_ip 10.0.0.5)") && text.contains("(= dst_port 80)"), "\(text)")
        #expect(throws: Never.self) { try r.rule().validate() }
    }

    @Test func unseparatedACKFloodIsFlowChecked() {
        let covered = (0..<200).map { tcp(0x10, sport: UInt16(1024 + $0)) }
        let r = ActionChoice.refine(rule([Candidate(field: .proto, kind: .equals(6)), Candidate(field: .tcpFlags, kind: .equals(0x10)),
                                          Candidate(field: .dstPort, kind: .equals(80))], limit: 300), covering: covered)
        #expect(r.rule().action == .flowCheck)
        #expect(throws: Never.self) { try r.rule().validate() }
    }

    @Test func separatedOrUnsharedFloodsKeepTheirRule() {
        let covered = (0..<200).map { tcp(0x02, sport: UInt16(1024 + $0)) }
        // A field that separates (the source port) keeps the rate limit.
        let byPort = ActionChoice.refine(rule([Candidate(field: .proto, kind: .equals(6)), Candidate(field: .tcpFlags, kind: .equals(2)),
                                               Candidate(field: .srcPort, kind: .equals(1024))], limit: 50), covering: covered)
        #expect(byPort.rule().action == .rateLimit(pps: 50, burst: nil))
        // No baseline share at all: the rule already drops only the attack.
        let drop = ActionChoice.refine(rule([Candidate(field: .proto, kind: .equals(6)), Candidate(field: .tcpFlags, kind: .equals(2))], limit: nil), covering: covered)
        #expect(drop.rule().action == .drop)
        // UDP is not TCP.
        let udp = ActionChoice.refine(rule([Candidate(field: .proto, kind: .equals(17))], limit: 50), covering: [])
        #expect(udp.rule().action == .rateLimit(pps: 50, burst: nil))
    }
}
