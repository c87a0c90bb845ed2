import Dataplane
import Foundation
import Generator
import Lab
import Packets
import Rules
import Testing
import Traffic

/// `(syn-auth)` and `(flow-check)` in the kernel. Root only.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF, namespaces, veth, XDP"))
struct ConnectionAuthKernelTests {
    static let server: UInt32 = 0x0A4D_0002   // the test lab's filter side, 10.77.0.2
    static let port: UInt16 = 8080

    static func scope(_ flags: UInt64) -> [Rules.Predicate] {
        [.equals(.proto, 6), .equals(.tcpFlags, flags), .equals(.dstIP, UInt64(server)), .equals(.dstPort, UInt64(port))]
    }

    static func frames(_ kind: TCPFlood.Kind, count: Int, seed: UInt64) -> [[UInt8]] {
        let flood = TCPFlood(kind: kind, destination: server, destinationPort: port,
                             sourceMAC: MACAddress(0x02_00_00_00_00_01), destinationMAC: MACAddress(0x02_00_00_00_00_02))
        var rng = SplitMix64(seed: seed)
        var buf = [UInt8](repeating: 0, count: 2048)
        return (0..<count).map { _ in
            let n = buf.withUnsafeMutableBytes { flood.write($0.baseAddress!, rng: &rng) }
            return Array(buf[..<n])
        }
    }

    /// BPF_PROG_RUN on a private copy: the program keeps the reference's state machine, on the
    /// kernel's clock (a duplicate at once is dropped, the retransmission 0.3 s later passes).
    @Test func synAuthInTheKernelMatchesTheReference() throws {
        let dp = try Dataplane.transient()
        let rule = Rule(id: 1, match: Self.scope(0x02), action: .synAuth, priority: 10)
        try dp.install([rule])
        let reference = ReferenceFilter()
        try reference.update { _ in [rule] }
        let syn = Self.frames(.syn, count: 1, seed: 7)[0]
        #expect(try dp.testRun(syn).action == .drop)
        #expect(reference.send(syn, at: 0) == .drop)
        #expect(try dp.testRun(syn).action == .drop)
        #expect(reference.send(syn, at: 1_000_000) == .drop)
        usleep(300_000)
        #expect(try dp.testRun(syn).action == .pass)
        #expect(reference.send(syn, at: 300_000_000) == .pass)
        // A randomized flood: every packet is some source's first SYN.
        for f in Self.frames(.syn, count: 2_000, seed: 8) {
            #expect(try dp.testRun(f).action == .drop)
            #expect(reference.send(f, at: 400_000_000) == .drop)
        }
        #expect(dp.counters(forRule: 1) == RuleCounters(hits: 2_003, drops: 2_002))
    }

    /// IPv6: the key holds both whole addresses, as the reference's does.
    @Test func synAuthInTheKernelOverIPv6() throws {
        let dp = try Dataplane.transient()
        try dp.install([Rule(id: 1, match: [.equals(.proto, 6), .equals(.tcpFlags, 0x02)], action: .synAuth, priority: 10)])
        let syn = ConnectionAuthReferenceTests.frame(from: ConnectionAuthReferenceTests.peer, to: ConnectionAuthReferenceTests.host,
                                                     sport: 40_000, dport: 443, flags: .syn)
        #expect(try dp.testRun(syn).action == .drop)
        usleep(300_000)
        #expect(try dp.testRun(syn).action == .pass)
        // Another source port of the authenticated source passes; another source does not.
        let again = ConnectionAuthReferenceTests.frame(from: ConnectionAuthReferenceTests.peer, to: ConnectionAuthReferenceTests.host,
                                                       sport: 40_001, dport: 443, flags: .syn)
        #expect(try dp.testRun(again).action == .pass)
        let other = ConnectionAuthReferenceTests.frame(from: IPAddress("2001:db8::78")!, to: ConnectionAuthReferenceTests.host,
                                                       sport: 40_000, dport: 443, flags: .syn)
        #expect(try dp.testRun(other).action == .drop)
    }

    /// A randomized SYN flood, then a randomized ACK flood, at the attached filter of a namespace
    /// pair, while a real client connects through it: every connection succeeds (the first after
    /// one retransmission), no flood packet passes.
    @Test func floodsStoppedWhileARealClientConnects() throws {
        let t = try TestLab("sa")
        defer { t.close() }
        let topo = t.lab.topology
        let service = try TCPEchoServer(namespace: topo.filterNamespace, port: Self.port)
        defer { service.stop() }
        let genMAC = try NetworkNamespace(topo.generatorNamespace).run { try InterfaceInfo.lookup(topo.generatorInterface).mac }
        let fltMAC = try NetworkNamespace(topo.filterNamespace).run { try InterfaceInfo.lookup(topo.filterInterface).mac }
        for (kind, flags, action) in [(TCPFlood.Kind.syn, UInt64(0x02), Action.synAuth), (.ack, 0x10, .flowCheck)] {
            // The client's twin rule above the flood's: same action and state, separate counters.
            try t.dataplane.replace(with: [
                Rule(id: 1, match: Self.scope(flags) + [.prefix(.srcIP, .v4(0x0A4D_0001), length: 32)], action: action, priority: 11),
                Rule(id: 2, match: Self.scope(flags), action: action, priority: 10),
            ])
            let flood = TCPFlood(kind: kind, destination: Self.server, destinationPort: Self.port, sourceMAC: genMAC, destinationMAC: fltMAC)
            let done = DispatchSemaphore(value: 0)
            let (ns, ifname) = (topo.generatorNamespace, topo.generatorInterface)
            Thread.detachNewThread {
                _ = try? flood.send(interface: ifname, namespace: ns, pps: 20_000, seconds: 4)
                done.signal()
            }
            usleep(300_000)
            let probes = try TCPProbeClient.run(namespace: topo.generatorNamespace, server: Self.server, port: Self.port, rate: 10, seconds: 3)
            done.wait()
            let attack = t.dataplane.counters(forRule: 2)
            #expect(probes.count == 30)
            let failed = probes.filter { !$0.ok }.count
            #expect(failed == 0, "\(kind): \(failed) of \(probes.count) connections failed")
            #expect(attack.hits > 10_000, "\(kind): the flood reached the filter")
            #expect(attack.hits == attack.drops, "\(kind): \(attack.hits - attack.drops) flood packets passed")
            #expect(t.dataplane.counters(forRule: 1).hits > 0, "\(kind): the client's packets met the rule")
        }
    }
}
