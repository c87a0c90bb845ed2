import Foundation

/// Why an interface's driver refused the filter in native XDP, when attach fell back to generic
/// (skb) mode: said with the warning, so an operator knows what to change. On servers the cause
/// is often not a driver without XDP but jumbo frames: drivers take the program as compiled only
/// while a frame fits one page (an MTU up to about 3,500 on veth and most NICs, 1,500 on some),
/// and attach then tries it frags-aware, which a driver without multi-buffer XDP refuses too.
public struct NativeRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The kernel's error for the native attach.
    public var code: Int32
    /// The interface's MTU, when it could be read.
    public var mtu: Int?

    /// MTUs above this may take a frame of more than one page on common drivers.
    static let singleBufferMTU = 1500

    /// Whether the MTU may be why: then the program loaded frags-aware may be taken natively.
    /// Not when the driver has no native XDP at all (EOPNOTSUPP; a frame too large for the
    /// program is EINVAL or ERANGE on the drivers read: veth, mlx5, i40e, ixgbe, virtio_net).
    var jumbo: Bool { code != EOPNOTSUPP && Self.jumbo(mtu: mtu) }

    /// Whether an interface of this MTU may bring frames of several buffers.
    static func jumbo(mtu: Int?) -> Bool { mtu.map { $0 > singleBufferMTU } ?? false }

    public var description: String {
        let why = String(cString: strerror(code))
        if code == EOPNOTSUPP { return "its driver has no native XDP" }
        if let mtu, jumbo {
            return "native XDP was refused (\(why)) at its MTU of \(mtu): the driver took neither the program for one-page frames (an MTU up to about 3,500 on most drivers, 1,500 on some) nor the program for multi-buffer frames"
        }
        return "native XDP was refused (\(why))"
    }

    /// The warning for a filter in generic mode where native was asked for: `refusal` is the
    /// attach's (nil when the filter was already attached, in generic mode, by an earlier one).
    public static func genericWarning(_ refusal: NativeRefusal?, interface: String) -> String {
        let why = refusal?.description
            ?? "its filter was attached in generic mode before (`holon filter detach` then `holon filter attach` try native again, rules kept)"
        return "\(interface): \(why): generic (skb) XDP, much slower under a flood" + (refusal?.remedy.map { "; \($0)" } ?? "")
    }

    /// What would give native mode, when it is known.
    public var remedy: String? {
        guard jumbo else { return nil }
        return "a smaller MTU (3,500 or less; 1,500 with some drivers) gives native mode"
    }
}
