import Packets

/// Whether two matches can take the same packet: false only when some field is held to values
/// the other match rules out (two protocols, two ports, disjoint prefixes, ranges or masked
/// values). Anything it cannot tell apart — a folded IPv6 address, payload bytes — counts as
/// overlapping: what asks is deciding whether a route would drop traffic Holon spares, and when
/// in doubt it must assume it would.
extension Rule {
    /// Whether this rule is looked at before `other`, so takes the packets both match: the
    /// higher priority, then the lower id (every table's order).
    public func outranks(_ other: Rule) -> Bool {
        priority != other.priority ? priority > other.priority : id < other.id
    }

    /// The pass rules of `table` that take packets this rule matches before it does: the
    /// exceptions a match alone (a Flowspec route, a router's filter) would not make.
    public func exceptions(in table: some Sequence<Rule>) -> [Rule] {
        table.filter { $0.action == .pass && $0.id != id && $0.outranks(self) && $0.mayOverlap(self) }
    }

    public func mayOverlap(_ other: Rule) -> Bool {
        Self.mayOverlap(predicates, other.predicates)
    }

    /// Whether a packet from a source inside `sources` can match this rule.
    public func mayMatchSource(in sources: IPPrefix) -> Bool {
        Self.mayOverlap(predicates, [.prefix(.srcIP, sources.address, length: sources.length)])
    }

    static func mayOverlap(_ a: [Predicate], _ b: [Predicate]) -> Bool {
        for p in a {
            for q in b where p.field != nil && p.field == q.field && Self.disjoint(p, q) { return false }
        }
        return true
    }

    /// No value of their (same) field satisfies both.
    static func disjoint(_ p: Predicate, _ q: Predicate) -> Bool {
        switch (p, q) {
        case (.prefix(_, let a, let la), .prefix(_, let b, let lb)):
            let x = IPPrefix(a, length: la), y = IPPrefix(b, length: lb)
            return !x.covers(y) && !y.covers(x)
        case (.prefix(let f, let a, let l), .equals(_, let v)), (.equals(let f, let v), .prefix(_, let a, let l)):
            // An IPv4 address is its 32-bit number; an IPv6 one is folded and cannot be read back.
            guard f.isAddress, a.isV4, v <= 0xFFFF_FFFF else { return a.isV4 && v > 0xFFFF_FFFF }
            return !IPPrefix(a, length: l).contains(.v4(UInt32(v)))
        case (.prefix, _), (_, .prefix), (.bytes, _), (_, .bytes):
            return false
        default:
            guard let x = p.valueSet, let y = q.valueSet else { return false }
            return x.disjoint(y)
        }
    }
}

extension Predicate {
    /// The values of a numeric predicate as a range and a mask, what ``ValueSet`` compares.
    var valueSet: ValueSet? {
        switch self {
        case .equals(_, let v): return ValueSet(range: v...v, mask: .max, value: v)
        case .range(_, let r): return ValueSet(range: r, mask: 0, value: 0)
        case .mask(_, let m, let v): return ValueSet(range: 0...UInt64.max, mask: m, value: v)
        case .prefix, .bytes: return nil
        }
    }
}

/// Values `x` with `range.contains(x)` and `x & mask == value`.
struct ValueSet {
    var range: ClosedRange<UInt64>
    var mask: UInt64
    var value: UInt64

    /// Provably no common value: the ranges do not meet, or the masks pin a shared bit apart
    /// (a range against a mask counts as meeting unless the range is one value).
    func disjoint(_ o: ValueSet) -> Bool {
        if !range.overlaps(o.range) { return true }
        let both = mask & o.mask
        if (value & both) != (o.value & both) { return true }
        if range.lowerBound == range.upperBound, (range.lowerBound & o.mask) != o.value { return true }
        if o.range.lowerBound == o.range.upperBound, (o.range.lowerBound & mask) != value { return true }
        return false
    }
}
