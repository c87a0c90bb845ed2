import Dataplane
import Foundation
import Glibc
import Lab
import Packets

/// A private lab (namespaces `holon-dtest-<tag>-gen|flt`) with the filter attached and pinned
/// under its own directory; `close()` removes all of it. Tests call it in `defer`, so a failed
/// expectation still cleans up.
final class TestLab {
    let lab: Lab
    let options: DataplaneOptions
    let dataplane: Dataplane
    let mode: AttachMode
    let sender: PacketSocket
    let receiver: PacketSocket

    static var isRoot: Bool { geteuid() == 0 }

    /// `stateDirectory`: where the state file goes (the tests' own directory unless given).
    init(_ name: String, stateDirectory: String = "/tmp/holon-dtest-state") throws {
        let tag = "hd\(String(getpid() % 10000))\(name.prefix(4))"
        lab = Lab(.scratch(prefix: "holon-dtest", tag: tag))
        try? lab.down()
        try lab.up()
        options = DataplaneOptions(pinDirectory: "/sys/fs/bpf/holon-dtest-\(tag)",
                                   namespace: lab.topology.filterNamespace,
                                   interface: lab.topology.filterInterface,
                                   stateDirectory: stateDirectory)
        do {
            _ = try? Dataplane.detach(options, force: true, forgetRules: true)
            (dataplane, mode) = try Dataplane.attach(options)
            try dataplane.setSampleEvery(0)
            sender = try PacketSocket(namespace: lab.topology.generatorNamespace, interface: lab.topology.generatorInterface)
            receiver = try PacketSocket(namespace: lab.topology.filterNamespace, interface: lab.topology.filterInterface)
        } catch {
            _ = try? Dataplane.detach(options, force: true, forgetRules: true)
            try? lab.down()
            throw error
        }
    }

    func close() {
        _ = try? Dataplane.detach(options, force: true, forgetRules: true)
        try? lab.down()
    }

    /// Waits until the filter has seen `count` packets (or 3 s pass) and returns its stats.
    func settle(packets count: UInt64) throws -> DataplaneStats {
        let deadline = now() + 3
        var s = try dataplane.stats()
        while s.packets < count && now() < deadline {
            usleep(10_000)
            s = try dataplane.stats()
        }
        usleep(50_000)
        return try dataplane.stats()
    }
}

/// Test frames: UDP/IPv4 to port 9 (discard) with a destination MAC that is not the filter's,
/// so the filter namespace's stack ignores them and answers nothing that could disturb counts.
enum Frames {
    static func udp(source: UInt32 = 0x0A4D_0001, port: UInt16 = 9, sequence: Int, length: Int = 64) -> [UInt8] {
        var spec = PacketSpec.udp4(source: source, destination: 0x0A4D_0002, sourcePort: UInt16(1024 + sequence % 60000),
                                   destinationPort: port, frameLength: length)
        if case .v4(var ip) = spec.network {
            ip.identification = UInt16(truncatingIfNeeded: sequence)
            spec.network = .v4(ip)
        }
        return PacketBuilder.bytes(spec)
    }

    static func isTest(_ f: [UInt8], port: UInt16 = 9) -> Bool {
        f.count >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 && UInt16(f[36]) << 8 | UInt16(f[37]) == port
    }
}
