import Foundation

extension Dataplane {
    /// Refuses, before anything is loaded or pinned, an interface XDP cannot protect: one that
    /// does not exist, loopback (nothing from outside arrives there), or a bond's slave (the
    /// bond device sees the traffic; a program on a slave is bypassed or breaks the bond).
    static func checkInterface(_ options: DataplaneOptions) throws(DataplaneError) {
        try inNetworkNamespace(options.namespace) { () throws(DataplaneError) in
            guard if_nametoindex(options.interface) != 0 else {
                throw .interfaceMissing(options.interface, namespace: options.namespace)
            }
            guard let flags = interfaceFlags(options.interface) else { return }
            if flags & Int32(IFF_LOOPBACK) != 0 {
                throw .interfaceUnusable(options.interface, reason: "it is a loopback interface: nothing from the network arrives there; protect the interface traffic comes in on")
            }
            if flags & Int32(IFF_SLAVE) != 0 {
                throw .interfaceUnusable(options.interface, reason: "it is a bond slave: attach to its bond device instead")
            }
        }
    }

    /// The interface's flags (SIOCGIFFLAGS) in the current network namespace.
    static func interfaceFlags(_ name: String) -> Int32? {
        interfaceRequest(name, SIOCGIFFLAGS).map { Int32($0.ifr_ifru.ifru_flags) }
    }

    /// The interface's MTU (SIOCGIFMTU) in the current network namespace.
    static func interfaceMTU(_ name: String) -> Int? {
        interfaceRequest(name, SIOCGIFMTU).map { Int($0.ifr_ifru.ifru_mtu) }
    }

    /// `request` about interface `name`, on a throwaway socket; nil when it fails.
    private static func interfaceRequest(_ name: String, _ request: Int32) -> ifreq? {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard s >= 0 else { return nil }
        defer { close(s) }
        var req = ifreq()
        let bytes = Array(name.utf8.prefix(Int(IFNAMSIZ) - 1))
        withUnsafeMutableBytes(of: &req.ifr_ifrn.ifrn_name) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return ioctl(s, UInt(request), &req) == 0 ? req : nil
    }
}

extension Dataplane {
    /// The interface of this host's IPv4 default route (the lowest metric), else its IPv6 one:
    /// where traffic from outside arrives on a typical server, and what `holon service install`
    /// writes into a new configuration. nil when the host has no default route.
    public static func defaultRouteInterface() -> String? {
        let v4 = (try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)).flatMap(defaultRouteInterface(ipv4Routes:))
        return v4 ?? (try? String(contentsOfFile: "/proc/net/ipv6_route", encoding: .utf8)).flatMap(defaultRouteInterface(ipv6Routes:))
    }

    /// The default route's interface in `/proc/net/route`'s text: destination and mask 0, up
    /// (flag 1), lowest metric; loopback never.
    static func defaultRouteInterface(ipv4Routes text: String) -> String? {
        var best: (name: String, metric: Int)?
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: \.isWhitespace)
            guard f.count >= 8, f[1] == "00000000", f[7] == "00000000", let flags = Int(f[3], radix: 16), flags & 1 != 0,
                  let metric = Int(f[6]), f[0] != "lo" else { continue }
            if best == nil || metric < best!.metric { best = (String(f[0]), metric) }
        }
        return best?.name
    }

    /// The same in `/proc/net/ipv6_route`'s text: destination ::/0, up (flag 1), lowest metric.
    static func defaultRouteInterface(ipv6Routes text: String) -> String? {
        var best: (name: String, metric: Int)?
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: \.isWhitespace)
            guard f.count == 10, f[0] == String(repeating: "0", count: 32), f[1] == "00",
                  let flags = Int(f[8], radix: 16), flags & 1 != 0, let metric = Int(f[5], radix: 16), f[9] != "lo" else { continue }
            if best == nil || metric < best!.metric { best = (String(f[9]), metric) }
        }
        return best?.name
    }
}
