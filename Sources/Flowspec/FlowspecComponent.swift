import Packets

/// The component types of a Flow Specification NLRI (RFC 8955 §4.2.2; RFC 8956 for IPv6, where
/// type 3 is the next header and the prefixes carry an offset). The raw value is the type byte;
/// components are carried in increasing type order, each at most once.
public enum FlowspecType: UInt8, Sendable, Hashable, CaseIterable, Comparable {
    case destination = 1
    case source = 2
    case ipProtocol = 3
    case port = 4
    case destinationPort = 5
    case sourcePort = 6
    case icmpType = 7
    case icmpCode = 8
    case tcpFlags = 9
    case packetLength = 10
    case dscp = 11
    case fragment = 12

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// Types 9 and 12 compare bits (bitmask operators); 3–8, 10 and 11 compare numbers.
    public var isBitmask: Bool { self == .tcpFlags || self == .fragment }
    public var isPrefix: Bool { self == .destination || self == .source }

    /// GoBGP's and ExaBGP's keyword for the component.
    public var keyword: String {
        switch self {
        case .destination: return "destination"
        case .source: return "source"
        case .ipProtocol: return "protocol"
        case .port: return "port"
        case .destinationPort: return "destination-port"
        case .sourcePort: return "source-port"
        case .icmpType: return "icmp-type"
        case .icmpCode: return "icmp-code"
        case .tcpFlags: return "tcp-flags"
        case .packetLength: return "packet-length"
        case .dscp: return "dscp"
        case .fragment: return "fragment"
        }
    }
}

/// One numeric operator (RFC 8955 §4.2.1.1): `lt`, `gt` and `eq` select the comparison (none:
/// false, all three: true), `and` joins it to the previous operator's result by AND instead of
/// OR. The end-of-list bit and the value's length are the encoder's business.
public struct NumericOp: Sendable, Hashable {
    public var and: Bool
    public var lt: Bool
    public var gt: Bool
    public var eq: Bool
    public var value: UInt64

    public init(and: Bool = false, lt: Bool = false, gt: Bool = false, eq: Bool = false, value: UInt64) {
        self.and = and
        self.lt = lt
        self.gt = gt
        self.eq = eq
        self.value = value
    }

    /// The operator byte without end-of-list and length bits.
    public var opBits: UInt8 { (and ? 0x40 : 0) | (lt ? 0x04 : 0) | (gt ? 0x02 : 0) | (eq ? 0x01 : 0) }

    public init(opByte: UInt8, value: UInt64) {
        self.init(and: opByte & 0x40 != 0, lt: opByte & 0x04 != 0, gt: opByte & 0x02 != 0, eq: opByte & 0x01 != 0, value: value)
    }

    public func holds(for x: UInt64) -> Bool {
        (lt && x < value) || (gt && x > value) || (eq && x == value)
    }

    /// `==53`, `>=1024`, `!=0` …
    public var text: String {
        let c: String
        switch (lt, gt, eq) {
        case (false, false, true): c = "=="
        case (false, true, false): c = ">"
        case (false, true, true): c = ">="
        case (true, false, false): c = "<"
        case (true, false, true): c = "<="
        case (true, true, false): c = "!="
        case (true, true, true): return "true"
        case (false, false, false): return "false"
        }
        return c + String(value)
    }
}

/// One bitmask operator (RFC 8955 §4.2.1.2): with `match`, true when every bit of `value` is set
/// in the packet; without, when any is. `not` negates that.
public struct BitmaskOp: Sendable, Hashable {
    public var and: Bool
    public var not: Bool
    public var match: Bool
    public var value: UInt64

    public init(and: Bool = false, not: Bool = false, match: Bool = false, value: UInt64) {
        self.and = and
        self.not = not
        self.match = match
        self.value = value
    }

    public var opBits: UInt8 { (and ? 0x40 : 0) | (not ? 0x02 : 0) | (match ? 0x01 : 0) }

    public init(opByte: UInt8, value: UInt64) {
        self.init(and: opByte & 0x40 != 0, not: opByte & 0x02 != 0, match: opByte & 0x01 != 0, value: value)
    }

    public func holds(for x: UInt64) -> Bool {
        let r = match ? x & value == value : x & value != 0
        return r != not
    }
}

/// Operators are applied in order, each joined to the result so far by AND or OR (the first
/// stands alone). Holon only writes AND chains, where order and precedence cannot matter.
func evaluate<Op>(_ ops: [Op], and: (Op) -> Bool, holds: (Op) -> Bool) -> Bool {
    var result = false
    for (i, op) in ops.enumerated() {
        let r = holds(op)
        result = i == 0 ? r : (and(op) ? result && r : result || r)
    }
    return result
}

/// One component of a flow specification.
public enum FlowspecComponent: Sendable, Hashable {
    /// Types 1 and 2. (IPv6 offsets other than 0 are never written.)
    case prefix(FlowspecType, IPPrefix)
    case numeric(FlowspecType, [NumericOp])
    case bitmask(FlowspecType, [BitmaskOp])

    public var type: FlowspecType {
        switch self {
        case .prefix(let t, _), .numeric(let t, _), .bitmask(let t, _): return t
        }
    }
}

/// What a router does with the matching traffic (RFC 8955 §7 traffic-rate-bytes: 0 discards).
public enum FlowspecAction: Sendable, Hashable {
    case trafficRate(bytesPerSecond: Float)

    public static let discard = FlowspecAction.trafficRate(bytesPerSecond: 0)
}

/// A flow specification: the match (components in type order) and its action, for one family.
public struct FlowspecRule: Sendable, Hashable {
    public enum Family: String, Sendable, Hashable { case ipv4, ipv6 }

    public var family: Family
    public var components: [FlowspecComponent]
    public var action: FlowspecAction

    public init(family: Family, components: [FlowspecComponent], action: FlowspecAction) {
        self.family = family
        self.components = components.sorted { $0.type < $1.type }
        self.action = action
    }

    public func component(_ t: FlowspecType) -> FlowspecComponent? { components.first { $0.type == t } }

    /// The same match (family and components), whatever the action: one route at a router,
    /// which holds the last announced and forgets it at one withdrawal.
    public func sameMatch(_ o: FlowspecRule) -> Bool { family == o.family && components == o.components }

    public var destination: IPPrefix? {
        if case .prefix(_, let p)? = component(.destination) { return p }
        return nil
    }
}
