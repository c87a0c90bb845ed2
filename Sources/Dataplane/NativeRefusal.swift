import Foundation

/// Why an interface's driver refused the filter in native XDP, when attach fell back to generic
/// (skb) mode: said with the warning, so an operator knows what to change. The commonest cause
/// on servers is not a driver without XDP but jumbo frames: the filter does not take
/// multi-buffer frames, and drivers attach such a program natively only while a frame fits in
/// one page (an MTU up to about 3,500 on veth and most NICs, 1,500 on some).
public struct NativeRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The kernel's error for the native attach.
    public var code: Int32
    /// The interface's MTU, when it could be read.
    public var mtu: Int?

    /// MTUs above this take a frame of more than one page on common drivers.
    static let singleBufferMTU = 1500

    public var description: String {
        let why = String(cString: strerror(code))
        if let mtu, mtu > Self.singleBufferMTU {
            return "native XDP was refused (\(why)) at its MTU of \(mtu), above what drivers take natively for a program without multi-buffer frames, as Holon's is (about 3,500 on most, 1,500 on some)"
        }
        if code == EOPNOTSUPP { return "its driver has no native XDP" }
        return "native XDP was refused (\(why))"
    }

    /// What would give native mode, when it is known.
    public var remedy: String? {
        guard let mtu, mtu > Self.singleBufferMTU else { return nil }
        return "a smaller MTU (3,500 or less; 1,500 with some drivers) gives native mode"
    }
}
