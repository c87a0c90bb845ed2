import Foundation

/// An interface's kernel counters (from `ip -s -j link`).
public struct InterfaceCounters: Sendable, Hashable {
    public var rxPackets: UInt64 = 0
    public var rxDropped: UInt64 = 0
    public var txPackets: UInt64 = 0
    public var txDropped: UInt64 = 0

    public init(rxPackets: UInt64 = 0, rxDropped: UInt64 = 0, txPackets: UInt64 = 0, txDropped: UInt64 = 0) {
        self.rxPackets = rxPackets
        self.rxDropped = rxDropped
        self.txPackets = txPackets
        self.txDropped = txDropped
    }

    public static func read(interface: String, namespace: String?) -> InterfaceCounters? {
        var args = namespace.map { ["-n", $0] } ?? []
        args += ["-s", "-j", "link", "show", "dev", interface]
        let r = ip(args)
        guard r.status == 0, let data = r.stdout.data(using: .utf8),
              let arr = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
              let stats = arr.first?["stats64"] as? [String: Any],
              let rx = stats["rx"] as? [String: Any], let tx = stats["tx"] as? [String: Any] else { return nil }
        func u(_ d: [String: Any], _ k: String) -> UInt64 { (d[k] as? NSNumber)?.uint64Value ?? 0 }
        return InterfaceCounters(rxPackets: u(rx, "packets"), rxDropped: u(rx, "dropped"),
                                 txPackets: u(tx, "packets"), txDropped: u(tx, "dropped"))
    }
}
