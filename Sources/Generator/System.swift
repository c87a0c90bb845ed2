import CGeneratorShim
import Foundation
import Lab
import Packets
import Traffic

/// Everything that can go wrong before or while generating, each with a one-line message that
/// says what to do.
public enum GeneratorError: Error, CustomStringConvertible, Sendable, Equatable {
    case notRoot
    case noSuchNamespace(String)
    case noSuchInterface(String, namespace: String?)
    case interfaceDown(String)
    case noDestinationMAC(String)
    case unknownProfile(String)
    case unknownScenario(String)
    case badScenario(String)
    case badArgument(String)
    case engineUnavailable(EngineKind, String)
    case system(String, Int32)

    public var description: String {
        switch self {
        case .notRoot:
            return "holon generate needs root (raw sockets and BPF): run it with sudo"
        case .noSuchNamespace(let ns):
            return NamespaceError.missing(ns).description
        case .noSuchInterface(let name, let ns):
            let whereText = ns.map { "in namespace '\($0)'" } ?? "in this namespace"
            let hint = ns.map { "ip -n \($0) link" } ?? "ip link"
            return "no interface '\(name)' \(whereText): check `\(hint)` (or pass --netns)"
        case .interfaceDown(let name):
            return "interface '\(name)' is down: bring it up with `ip link set \(name) up`"
        case .noDestinationMAC(let name):
            return "no neighbour with a MAC address on '\(name)': pass --dst-mac aa:bb:cc:dd:ee:ff or --peer IP"
        case .unknownProfile(let name):
            return "unknown profile '\(name)': use one of \(TrafficProfile.names.joined(separator: ", "))"
        case .unknownScenario(let name):
            return "unknown built-in scenario '\(name)': use one of \(BuiltInNames.scenarios)"
        case .badScenario(let message):
            return "bad scenario: \(message)"
        case .badArgument(let message):
            return message
        case .engineUnavailable(let kind, let why):
            return "engine \(kind.rawValue) is unavailable: \(why) (try --engine sendmmsg)"
        case .system(let what, let err):
            return "\(what): \(String(cString: strerror(err)))"
        }
    }
}

enum BuiltInNames {
    static var scenarios: String { Scenario.builtIn.map(\.name).joined(separator: ", ") }
}

/// An interface as seen from inside its namespace.
public struct InterfaceInfo: Sendable, Hashable {
    public var name: String
    public var index: Int32
    public var mtu: Int
    public var isUp: Bool
    public var mac: MACAddress

    /// Looks the interface up in the calling thread's namespace.
    public static func lookup(_ name: String, namespace: String? = nil) throws(GeneratorError) -> InterfaceInfo {
        var info = hg_ifinfo()
        let rc = hg_interface_info(name, &info)
        if rc == -ENODEV || rc == -ENAMETOOLONG || rc == -ENXIO { throw .noSuchInterface(name, namespace: namespace) }
        if rc < 0 { throw .system("interface \(name)", -rc) }
        let m = info.mac
        let mac = [m.0, m.1, m.2, m.3, m.4, m.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return InterfaceInfo(name: name, index: info.ifindex, mtu: Int(info.mtu), isUp: info.up != 0, mac: MACAddress(mac))
    }
}

/// `ip args…` through the lab's runner: status and output, never a throw (a missing `ip` reads
/// as a failed command whose stderr says so).
func ip(_ args: [String]) -> (status: Int32, stdout: String, stderr: String) {
    do { return try IPCommand.runStatus(args) } catch { return (127, "", "\(error)") }
}

/// The kernel neighbour table: the MAC of a peer on an interface.
public enum Neighbours {
    /// The first complete entry (REACHABLE, STALE, DELAY, PROBE, PERMANENT, NOARP with a
    /// lladdr) on `interface`, preferring `peer` when given; nil when there is none.
    public static func lookup(interface: String, namespace: String?, peer: String? = nil) -> MACAddress? {
        var args = namespace.map { ["-n", $0] } ?? []
        args += ["-j", "neigh", "show", "dev", interface]
        let r = ip(args)
        guard r.status == 0, let data = r.stdout.data(using: .utf8),
              let arr = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return nil }
        var best: MACAddress?
        for e in arr {
            guard let ll = e["lladdr"] as? String, let mac = MACAddress(ll) else { continue }
            let states = (e["state"] as? [String]) ?? []
            if states.contains("INCOMPLETE") || states.contains("FAILED") { continue }
            if let peer, (e["dst"] as? String) == peer { return mac }
            if best == nil, (e["dst"] as? String)?.contains(":") == false { best = mac }
        }
        return peer == nil ? best : best
    }

    static func poke(_ address: String, namespace: String?) {
        guard case .v4(let a)? = IPAddress(address) else { return }
        _ = try? NetworkNamespace.run(in: namespace.map(NetworkNamespace.init)) {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { return }
            defer { close(fd) }
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = UInt16(9).bigEndian
            sin.sin_addr.s_addr = a.bigEndian
            var byte: UInt8 = 0
            _ = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, &byte, 1, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// The interface's IPv4 address and prefix length, if it has one.
    static func address(interface: String, namespace: String?) -> (UInt32, Int)? {
        var args = namespace.map { ["-n", $0] } ?? []
        args += ["-j", "-4", "addr", "show", "dev", interface]
        let r = ip(args)
        guard r.status == 0, let data = r.stdout.data(using: .utf8),
              let arr = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
              let infos = arr.first?["addr_info"] as? [[String: Any]],
              let first = infos.first, let local = first["local"] as? String,
              case .v4(let a)? = IPAddress(local), let len = first["prefixlen"] as? Int else { return nil }
        return (a, len)
    }

    /// Finds the destination MAC: the table, else ping `peer` (or, on a small subnet, the other
    /// of its two lowest hosts, as on the lab's veth) once to make the kernel resolve it.
    public static func resolve(interface: String, namespace: String?, peer: String? = nil) -> MACAddress? {
        if let m = lookup(interface: interface, namespace: namespace, peer: peer) { return m }
        var candidates: [String] = []
        if let peer { candidates.append(peer) } else if let (a, len) = address(interface: interface, namespace: namespace), len >= 16, len < 31 {
            let mask: UInt32 = len == 0 ? 0 : UInt32.max << UInt32(32 - len)
            let net = a & mask
            for host in [net | 1, net | 2] where host != a { candidates.append("\(IPAddress.v4(host))") }
        }
        for c in candidates {
            // One UDP datagram to the discard port makes the kernel resolve the neighbour (ping
            // may not be installed); sent from this process inside the namespace.
            for _ in 0..<2 {
                poke(c, namespace: namespace)
                for _ in 0..<20 {
                    usleep(25_000)
                    if let m = lookup(interface: interface, namespace: namespace, peer: c) { return m }
                }
            }
        }
        return nil
    }
}
