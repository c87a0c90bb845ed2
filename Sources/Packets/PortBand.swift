import CHolonFields

/// Port bands a rule can name without listing ports. The thresholds are the field table's
/// (holon_fields.h), so Swift, the XDP parser and the nftables export band a port alike.
public enum PortBand: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Below HOLON_PORT_REGISTERED (1024): the services a rule names by port.
    case wellKnown = 0
    /// Below HOLON_PORT_EPHEMERAL (49152).
    case registered = 1
    /// The rest, up to 65535.
    case ephemeral = 2

    @inlinable
    public init(port: UInt16) {
        switch holon_port_band(port) {
        case 0: self = .wellKnown
        case 1: self = .registered
        default: self = .ephemeral
        }
    }

    /// The ports of the band.
    public var ports: ClosedRange<UInt16> {
        let registered = UInt16(HOLON_PORT_REGISTERED), ephemeral = UInt16(HOLON_PORT_EPHEMERAL)
        switch self {
        case .wellKnown: return 0...(registered - 1)
        case .registered: return registered...(ephemeral - 1)
        case .ephemeral: return ephemeral...UInt16.max
        }
    }

    public var description: String {
        switch self {
        case .wellKnown: return "well-known"
        case .registered: return "registered"
        case .ephemeral: return "ephemeral"
        }
    }
}
