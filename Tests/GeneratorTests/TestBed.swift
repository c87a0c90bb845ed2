import Generator
import Lab
import Packets

/// A private lab for one generator test, built by ``Lab`` like every lab: the generator's
/// namespace sends, the filter's receives (no filter attached). `destroy()` removes it; a lab
/// left by a test process that died is removed by the next run (``removeStale()``).
final class TestBed {
    static let prefix = "holon-gtest"

    let lab: Lab
    var sender: NetworkNamespace { NetworkNamespace(lab.topology.generatorNamespace) }
    var receiver: NetworkNamespace { NetworkNamespace(lab.topology.filterNamespace) }
    var senderInterface: String { lab.topology.generatorInterface }
    var receiverInterface: String { lab.topology.filterInterface }
    /// The receiver's address without its length (a peer for neighbour resolution).
    var receiverAddress: String { String(lab.topology.filterAddress.prefix { $0 != "/" }) }
    /// The lab's own subnet, whose frames (ARP aside) are not the generator's.
    var subnet: String { IPPrefix(lab.topology.filterAddress)!.network.description }

    init() throws {
        lab = Lab(.owned(prefix: Self.prefix))
        try lab.up()
    }

    func receiverMAC() throws -> MACAddress {
        try receiver.run { try InterfaceInfo.lookup(receiverInterface).mac }
    }

    func receiverCounters() -> InterfaceCounters? {
        InterfaceCounters.read(interface: receiverInterface, namespace: receiver.name)
    }

    func destroy() { try? lab.down() }

    static func removeStale() { Lab.removeStale(prefix: prefix) }
}
