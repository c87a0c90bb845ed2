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

    /// SIOCGIFFLAGS on a throwaway socket in the current network namespace.
    static func interfaceFlags(_ name: String) -> Int32? {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard s >= 0 else { return nil }
        defer { close(s) }
        var req = ifreq()
        let bytes = Array(name.utf8.prefix(Int(IFNAMSIZ) - 1))
        withUnsafeMutableBytes(of: &req.ifr_ifrn.ifrn_name) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        guard ioctl(s, UInt(SIOCGIFFLAGS), &req) == 0 else { return nil }
        return Int32(req.ifr_ifru.ifru_flags)
    }
}
