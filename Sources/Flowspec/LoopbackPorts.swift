import Glibc

/// Ports for daemons a test or bench starts on loopback (gobgpd, exabgp): `count` consecutive
/// ones, below Linux's ephemeral range (32768 on) so that no outgoing connection of another
/// process can be holding one, and each checked free on the address it will be bound to.
/// Picked at random ports in 20000–40000, a pair of gobgpd once never peered (a CI run):
/// a third of that range is ephemeral.
public enum LoopbackPorts {
    public static func pick(_ count: Int, addresses: [String] = ["127.0.0.1"]) -> Int {
        for _ in 0..<50 {
            let base = 10_000 + Int(UInt32.random(in: 0..<UInt32(22_000 - count)))
            if (base..<base + count).allSatisfy({ port in addresses.allSatisfy { free(port, on: $0) } }) { return base }
        }
        return 10_000 + Int(UInt32.random(in: 0..<UInt32(22_000 - count)))
    }

    /// Whether a TCP socket can bind `address:port` now.
    static func free(_ port: Int, on address: String) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &a.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
