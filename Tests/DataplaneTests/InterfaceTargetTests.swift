@testable import Dataplane
import Foundation
import Lab
import Packets
import Rules
import TestSupport
import Testing

/// Issue 11 §1: any interface, several at once, each with its own pins and table; what XDP
/// cannot protect is refused before anything is loaded or pinned.
@Suite("Interfaces (root: BPF)", .ownThread, .serialized, .enabled(if: geteuid() == 0))
struct InterfaceTargetTests {
    /// A private namespace with a veth pair (names of this test's own). (A bond slave is refused
    /// too, by its IFF_SLAVE flag, but this machine's kernel has no bonding driver to test it.)
    struct Net {
        let ns: String
        let a: String, b: String
        init() throws {
            let t = "\(getpid() % 10_000)"
            ns = "holon-iftest-\(t)"
            a = "hia\(t)"; b = "hib\(t)"
            _ = try? IPCommand.run(["netns", "del", ns])
            _ = try IPCommand.run(["netns", "add", ns])
            // Set up fully or not at all: a failure here must not leave the namespace behind.
            do { try Self.links(ns, a, b) } catch {
                _ = try? IPCommand.run(["netns", "del", ns])
                throw error
            }
        }

        static func links(_ ns: String, _ a: String, _ b: String) throws {
            for args in [["link", "add", a, "type", "veth", "peer", "name", b],
                         ["link", "set", a, "up"], ["link", "set", b, "up"], ["link", "set", "lo", "up"]] {
                _ = try IPCommand.run(["-n", ns] + args)
            }
        }
        func close() { _ = try? IPCommand.run(["netns", "del", ns]) }
    }

    func options(_ net: Net, _ name: String) -> DataplaneOptions {
        var o = DataplaneOptions.protecting(interface: name, namespace: net.ns)
        o.stateDirectory = NSTemporaryDirectory() + "holon-iftest-\(getpid())"
        return o
    }

    @Test func twoInterfacesTwoTables() throws {
        let net = try Net()
        defer { net.close() }
        let oa = options(net, net.a), ob = options(net, net.b)
        defer {
            _ = try? Dataplane.detach(oa, force: true, forgetRules: true)
            _ = try? Dataplane.detach(ob, force: true, forgetRules: true)
            try? FileManager.default.removeItem(atPath: oa.stateDirectory)
        }
        #expect(oa.pinDirectory == "/sys/fs/bpf/holon:\(net.ns):\(net.a)")
        #expect(oa.stateFile != ob.stateFile)
        let (da, _) = try Dataplane.attach(oa)
        let (db, _) = try Dataplane.attach(ob)
        try da.add([Rule(id: 7, match: [.equals(.proto, 17)], action: .drop, priority: 1)])
        #expect(try da.verifiedRules().map(\.id) == [7])
        #expect(try db.verifiedRules().isEmpty, "a rule on one interface does not reach the other")
        let listed = DataplaneOptions.pinned().filter { $0.namespace == net.ns }
        #expect(Set(listed.map(\.interface)) == [net.a, net.b])
        #expect(listed.allSatisfy { l in [oa, ob].contains { $0.pinDirectory == l.pinDirectory } })
        #expect(try Dataplane.status(oa).attached && Dataplane.status(ob).attached)
        try Dataplane.detach(oa, force: true)
        #expect(try Dataplane.status(ob).attached, "detaching one leaves the other")
    }

    /// Jumbo frames (MTU 9000): veth takes the program as compiled natively only while a frame
    /// fits one page. The filter fell back to generic mode, saying "its driver has no native
    /// XDP"; it now loads the program frags-aware and stays native, counting each frame whole
    /// and matching it. Attached again, it is the same program (no takeover).
    @Test func jumboFramesAreFilteredNatively() throws {
        let net = try Net()
        defer { net.close() }
        let o = options(net, net.a)
        defer {
            _ = try? Dataplane.detach(o, force: true, forgetRules: true)
            try? FileManager.default.removeItem(atPath: o.stateDirectory)
        }
        for name in [net.a, net.b] { _ = try IPCommand.run(["-n", net.ns, "link", "set", name, "mtu", "9000"]) }
        let (dp, mode) = try Dataplane.attach(o)
        #expect(mode == .native && dp.multiBuffer && dp.nativeRefusal == nil)
        try dp.setSampleEvery(1)
        try dp.add([Rule(id: 5, match: [.equals(.proto, 17), .equals(.dstPort, 7777)], action: .drop, priority: 1)])
        let socket = try PacketSocket(namespace: net.ns, interface: net.b)
        func frame(_ port: UInt16) -> [UInt8] {
            PacketBuilder.bytes(.udp4(source: 0x0A00_0001, destination: 0x0A00_0002, sourcePort: 9, destinationPort: port, frameLength: 8000))
        }
        let before = try dp.stats()
        socket.send([frame(7777), frame(7778)])
        var after = try dp.stats()
        for _ in 0..<100 where after.packets < before.packets + 2 {
            usleep(20_000)
            after = try dp.stats()
        }
        #expect(after.packets - before.packets == 2)
        #expect(after.bytes - before.bytes == 16_000, "each frame counted whole")
        #expect(after.dropped - before.dropped == 1 && after.passed - before.passed == 1)
        let (again, m2) = try Dataplane.attach(o)
        #expect(m2 == .native && again.takeover == nil)

        // Another version's program on the link (frags-aware, or the link would not take it):
        // this version's takes over, frags-aware too, and drops again.
        let other = try #require(ForeignProgram.onLink(pinnedIn: o.pinDirectory, multiBuffer: true), "errno \(errno)")
        defer { close(other) }
        let (took, m3) = try Dataplane.attach(o)
        #expect(m3 == .native && took.takeover != nil && took.multiBuffer)
        let before3 = try took.stats()
        socket.send([frame(7777)])
        var after3 = try took.stats()
        for _ in 0..<100 where after3.packets < before3.packets + 1 {
            usleep(20_000)
            after3 = try took.stats()
        }
        #expect(after3.dropped - before3.dropped == 1 && after3.bytes - before3.bytes == 8000)
    }

    @Test func aRefusalSaysWhatToChange() {
        #expect(NativeRefusal(code: ERANGE, mtu: 9000).remedy?.contains("a smaller MTU") == true)
        #expect(NativeRefusal(code: EOPNOTSUPP, mtu: 1500).remedy == nil)
        #expect("\(NativeRefusal(code: EOPNOTSUPP, mtu: 9000))" == "its driver has no native XDP", "whatever the MTU")
        #expect(NativeRefusal(code: EOPNOTSUPP, mtu: 9000).remedy == nil)
        #expect("\(NativeRefusal(code: EOPNOTSUPP, mtu: 1500))" == "its driver has no native XDP")
        #expect("\(NativeRefusal(code: EINVAL, mtu: nil))" == "native XDP was refused (Invalid argument)")
        #expect(NativeRefusal.genericWarning(NativeRefusal(code: ERANGE, mtu: 9000), interface: "eth0").hasSuffix("much slower under a flood; a smaller MTU (3,500 or less; 1,500 with some drivers) gives native mode"))
        #expect(NativeRefusal.genericWarning(nil, interface: "eth0").contains("attached in generic mode before"), "a filter found generic: nothing was tried")
    }

    @Test(arguments: ["lo", "missing0"])
    func unusableInterfacesAreRefusedAndNothingIsPinned(_ which: String) throws {
        let net = try Net()
        defer { net.close() }
        let name = which
        let o = options(net, name)
        defer { _ = try? Dataplane.detach(o, force: true, forgetRules: true) }
        do {
            _ = try Dataplane.attach(o)
            Issue.record("attaching to \(name) should be refused")
        } catch {
            switch error {
            case .interfaceMissing: #expect(which == "missing0")
            case .interfaceUnusable(_, let why): #expect(why.contains("loopback"))
            default: Issue.record("unexpected error \(error)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: o.pinDirectory), "nothing pinned for a refused interface")
    }
}
