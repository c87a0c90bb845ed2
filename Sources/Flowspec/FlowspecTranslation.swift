import Packets
import Rules

/// A Holon rule as a flow specification, or why it cannot be one.
public enum FlowspecOutcome: Sendable, Hashable {
    /// Every predicate carried as it is.
    case exact(FlowspecRule)
    /// Predicates Flowspec cannot carry were dropped; the wider rule (`as` in Holon's terms)
    /// matches none of the baseline's packets, so it still spares the traffic Holon learned.
    case widened(FlowspecRule, dropped: [String], as: Rule)
    /// Not announced, and why.
    case refused(String)

    public var rule: FlowspecRule? {
        switch self {
        case .exact(let r), .widened(let r, _, _): return r
        case .refused: return nil
        }
    }
}

/// Rules → flow specifications (RFC 8955/8956). Exact where Flowspec has the field; where it
/// has not (`ttl`, `ip_id`, `tcp_window`, `ecn`, `mf`, `payload_len`, `direction`, IPv6 lengths),
/// the predicate is dropped only if the rule without it still matches none of the baseline
/// reservoir's packets — never silently wrong.
public struct FlowspecTranslator: Sendable {
    /// Flowspec limits bytes per second (RFC 8955 §7.7), Holon packets per second: a rate limit
    /// of N pps is announced as N × `packetBytes` bytes/s. Full-size packets by default, so the
    /// router never passes fewer packets than the rule would — an attack of small packets gets
    /// more through at the edge than in XDP, legitimate traffic never less.
    public var packetBytes: Int

    public init(packetBytes: Int = 1500) {
        self.packetBytes = packetBytes
    }

    public func translate(_ rule: Rule, baseline: [PacketFeatures]) -> FlowspecOutcome {
        let action: FlowspecAction
        switch rule.action {
        case .drop: action = .discard
        case .rateLimit(let pps, _): action = .trafficRate(bytesPerSecond: Float(pps) * Float(packetBytes))
        case .pass: return .refused("a pass rule is an exception inside the host's own table; Flowspec has no exception to carry it")
        case .count: return .refused("a count rule drops nothing (observe); it is not announced")
        case .synAuth: return .refused("syn-auth keeps per-connection state in the host's filter; a router's Flowspec match is stateless and would drop real handshakes")
        case .flowCheck: return .refused("flow-check needs the host's own connections (its egress); an edge router does not know them")
        }
        // Widening would turn "this marker to this host" into "all of this protocol to it": what
        // the byte predicate exists to avoid. Never announced, whatever the baseline says.
        if let b = rule.predicates.first(where: { if case .bytes = $0 { return true } else { return false } }) {
            return .refused("Flowspec matches headers only (RFC 8955/8956 have no payload component); \(b.text) stays in the host's XDP filter")
        }
        let family: FlowspecRule.Family = rule.predicates.contains { p in
            if case .prefix(_, let a, _) = p { return !a.isV4 }
            if case .equals(let f, let v) = p, f.isAddress { return v > 0xFFFF_FFFF }
            return false
        } ? .ipv6 : .ipv4

        var ops: [FlowspecType: FlowspecComponent] = [:]
        var kept: [Predicate] = []
        var dropped: [Predicate] = []
        for p in rule.predicates {
            guard let c = Self.component(p, family: family) else { dropped.append(p); continue }
            guard let merged = Self.and(ops[c.type], c) else { dropped.append(p); continue }
            ops[c.type] = merged
            kept.append(p)
        }
        let fs = FlowspecRule(family: family, components: Array(ops.values), action: action)
        do { try FlowspecNLRI.validate(fs) } catch { return .refused("\(error)") }
        if dropped.isEmpty { return .exact(fs) }
        var wider = rule
        wider.predicates = kept
        let texts = dropped.map(\.text)
        if let hit = baseline.first(where: wider.matches) {
            return .refused("Flowspec cannot carry \(texts.joined(separator: " ")); without it the rule would match baseline traffic (\(hit.srcIP) → \(hit.dstIP), proto \(hit.proto))")
        }
        return .widened(fs, dropped: texts, as: wider)
    }

    /// Two components of one type ANDed (a type appears once per NLRI); nil when they cannot be.
    static func and(_ a: FlowspecComponent?, _ b: FlowspecComponent) -> FlowspecComponent? {
        guard let a else { return b }
        switch (a, b) {
        case (.numeric(let t, let x), .numeric(_, var y)):
            y[0].and = true
            return .numeric(t, x + y)
        case (.bitmask(let t, let x), .bitmask(_, var y)):
            y[0].and = true
            return .bitmask(t, x + y)
        default:
            return nil    // two prefixes of one direction: Holon writes one, Flowspec carries one
        }
    }

    static func range(_ r: ClosedRange<UInt64>) -> [NumericOp] {
        r.lowerBound == r.upperBound ? [NumericOp(eq: true, value: r.lowerBound)]
            : [NumericOp(gt: true, eq: true, value: r.lowerBound), NumericOp(and: true, lt: true, eq: true, value: r.upperBound)]
    }

    static func numeric(_ t: FlowspecType, _ p: Predicate) -> FlowspecComponent? {
        switch p {
        case .equals(_, let v): return .numeric(t, [NumericOp(eq: true, value: v)])
        case .range(_, let r): return .numeric(t, range(r))
        default: return nil
        }
    }

    /// The flow specification component saying what `p` says, or nil when none does.
    static func component(_ p: Predicate, family: FlowspecRule.Family) -> FlowspecComponent? {
        guard let f = p.field else { return nil }   // bytes: refused before this
        switch f {
        case .srcIP, .dstIP:
            let t: FlowspecType = f == .dstIP ? .destination : .source
            switch p {
            case .prefix(_, let a, let len): return .prefix(t, IPPrefix(a, length: len).network)
            case .equals(_, let v) where v <= 0xFFFF_FFFF && family == .ipv4: return .prefix(t, IPPrefix(.v4(UInt32(v)), length: 32))
            default: return nil   // an IPv6 address compared as its 64-bit fold cannot be unfolded
            }
        case .proto: return numeric(.ipProtocol, p)
        case .srcPort: return numeric(.sourcePort, p)
        case .dstPort: return numeric(.destinationPort, p)
        case .icmpType: return numeric(.icmpType, p)
        case .icmpCode: return numeric(.icmpCode, p)
        case .dscp: return numeric(.dscp, p)
        case .ipLen: return family == .ipv4 ? numeric(.packetLength, p) : nil
        case .srcPortBand, .dstPortBand:
            let t: FlowspecType = f == .srcPortBand ? .sourcePort : .destinationPort
            guard let r = Bands.ports(p) else { return nil }
            return .numeric(t, range(r))
        case .sizeClass:
            guard family == .ipv4, let r = Bands.lengths(p) else { return nil }
            return .numeric(.packetLength, range(r))
        case .tcpFlags:
            switch p {
            case .equals(_, let v): return .bitmask(.tcpFlags, flagOps(mask: 0xFF, value: v))
            case .mask(_, let m, let v): return .bitmask(.tcpFlags, flagOps(mask: m, value: v))
            default: return nil
            }
        case .df:
            guard case .equals(_, let v) = p else { return nil }
            return .bitmask(.fragment, [v == 1 ? BitmaskOp(match: true, value: FragmentBit.dontFragment) : BitmaskOp(not: true, value: FragmentBit.dontFragment)])
        case .fragOffset:
            // RFC 8955's IsF is exactly "offset is not 0".
            switch p {
            case .equals(_, 0): return .bitmask(.fragment, [BitmaskOp(not: true, value: FragmentBit.isFragment)])
            case .range(_, let r) where r.lowerBound == 1 && r.upperBound >= f.maxValue:
                return .bitmask(.fragment, [BitmaskOp(match: true, value: FragmentBit.isFragment)])
            default: return nil
            }
        default:
            return nil   // ttl, ip_id, tcp_window, ecn, mf, payload_len, direction: not in Flowspec
        }
    }

    /// `(flags & mask) == value`: every bit of `value` set, and no other bit of `mask`.
    static func flagOps(mask: UInt64, value: UInt64) -> [BitmaskOp] {
        let clear = mask & ~value
        var ops: [BitmaskOp] = []
        if value != 0 { ops.append(BitmaskOp(match: true, value: value)) }
        if clear != 0 { ops.append(BitmaskOp(and: !ops.isEmpty, not: true, value: clear)) }
        return ops
    }
}

/// The fragment component's bits (RFC 8955 §4.2.2.12).
public enum FragmentBit {
    public static let dontFragment: UInt64 = 0x01
    public static let isFragment: UInt64 = 0x02
    public static let firstFragment: UInt64 = 0x04
    public static let lastFragment: UInt64 = 0x08
}

/// Port bands and size classes as the value ranges they stand for, read off `PortBand(port:)`
/// and `SizeClass(ipLength:)` themselves so the thresholds keep one definition.
enum Bands {
    static let portRanges: [ClosedRange<UInt64>] = ranges(0...65535, count: PortBand.allCases.count) { PortBand(port: UInt16($0)).rawValue }
    static let lengthRanges: [ClosedRange<UInt64>] = ranges(0...65535, count: SizeClass.allCases.count) { SizeClass(ipLength: UInt32($0)).rawValue }

    /// Each class's lowest and highest value (classes are contiguous and ordered).
    static func ranges(_ domain: ClosedRange<Int>, count: Int, _ classOf: (Int) -> Int) -> [ClosedRange<UInt64>] {
        var lo = [Int](repeating: .max, count: count), hi = [Int](repeating: .min, count: count)
        for x in domain {
            let c = classOf(x)
            lo[c] = min(lo[c], x)
            hi[c] = max(hi[c], x)
        }
        return (0..<count).map { UInt64(lo[$0])...UInt64(hi[$0]) }
    }

    static func span(_ p: Predicate, _ table: [ClosedRange<UInt64>]) -> ClosedRange<UInt64>? {
        switch p {
        case .equals(_, let v) where v < table.count: return table[Int(v)]
        case .range(_, let r) where r.upperBound < table.count: return table[Int(r.lowerBound)].lowerBound...table[Int(r.upperBound)].upperBound
        default: return nil
        }
    }

    static func ports(_ p: Predicate) -> ClosedRange<UInt64>? { span(p, portRanges) }
    static func lengths(_ p: Predicate) -> ClosedRange<UInt64>? { span(p, lengthRanges) }
}
