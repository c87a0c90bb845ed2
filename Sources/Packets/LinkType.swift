/// A capture's link-layer header type (tcpdump.org LINKTYPE_ values).
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IP; the version nibble says v4 or v6.
    public static let raw = LinkType(rawValue: 101)
    public static let linuxSLL = LinkType(rawValue: 113)
    public static let ipv4 = LinkType(rawValue: 228)
    public static let ipv6 = LinkType(rawValue: 229)
    public static let linuxSLL2 = LinkType(rawValue: 276)

    public var description: String {
        switch self {
        case .ethernet: return "ethernet"
        case .raw: return "raw-ip"
        case .linuxSLL: return "linux-sll"
        case .ipv4: return "ipv4"
        case .ipv6: return "ipv6"
        case .linuxSLL2: return "linux-sll2"
        default: return "linktype-\(rawValue)"
        }
    }
}
