import Dataplane
import Packets
import Rules
import Testing

/// The reference filter's two halves for flow-check: frames the host sends (``ReferenceFilter/sendEgress(_:at:)``)
/// make the connection's arriving packets pass; IPv6 keys carry the whole addresses. No root.
@Suite struct ConnectionAuthReferenceTests {
    static let host = IPAddress("2001:db8::2")!, peer = IPAddress("2001:db8::77")!

    static func frame(from src: IPAddress, to dst: IPAddress, sport: UInt16, dport: UInt16, flags: TCPFlags) -> [UInt8] {
        PacketBuilder.bytes(PacketSpec(network: .v6(.init(source: src, destination: dst)),
                                       transport: .tcp(source: sport, destination: dport, flags: flags)))
    }

    @Test func flowCheckLearnsFromEgressOverIPv6() throws {
        let f = ReferenceFilter()
        try f.update { _ in [Rule(id: 1, match: [.equals(.proto, 6), .equals(.tcpFlags, 0x10), .equals(.dstPort, 443)], action: .flowCheck, priority: 10)] }
        let ack = Self.frame(from: Self.peer, to: Self.host, sport: 40_000, dport: 443, flags: .ack)
        #expect(f.send(ack, at: 1) == .drop)
        f.sendEgress(Self.frame(from: Self.host, to: Self.peer, sport: 443, dport: 40_000, flags: [.syn, .ack]), at: 2)
        #expect(f.send(ack, at: 3) == .pass)
        // Same ports, another peer: not the host's connection.
        #expect(f.send(Self.frame(from: IPAddress("2001:db8::78")!, to: Self.host, sport: 40_000, dport: 443, flags: .ack), at: 4) == .drop)
        #expect(f.counters(forRule: 1) == RuleCounters(hits: 3, drops: 2))
    }

    @Test func synAuthOverIPv6() throws {
        let f = ReferenceFilter()
        try f.update { _ in [Rule(id: 1, match: [.equals(.proto, 6), .equals(.tcpFlags, 0x02)], action: .synAuth, priority: 10)] }
        let syn = Self.frame(from: Self.peer, to: Self.host, sport: 40_000, dport: 443, flags: .syn)
        #expect(f.send(syn, at: 0) == .drop)
        #expect(f.send(syn, at: 1_000_000_000) == .pass)
        #expect(f.send(Self.frame(from: Self.peer, to: Self.host, sport: 40_001, dport: 443, flags: .syn), at: 1_100_000_000) == .pass)
    }
}
