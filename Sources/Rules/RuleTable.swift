import Packets

/// The reference matcher: exactly the semantics the XDP classifier implements, so the two can
/// be held against each other packet by packet.
///
/// - The winning rule is the matching rule with the highest priority, ties to the lower id.
///   No rule matching means pass.
/// - `drop` drops; `pass` passes; `count` passes and counts; `rate-limit` passes while the
///   rule's ``TokenBucket`` (driven by packet timestamps) has a token, else drops.
/// - `syn-auth` and `flow-check` decide by ``connections`` (``ConnectionAuth``), the host's
///   state rather than the rule's: it survives table changes, as the kernel's maps do, and
///   ``observeEgress(_:)`` feeds it what the host sends.
/// - Per rule, `hits` counts packets the rule won and `drops` those it dropped.
/// - TTLs are not consulted: expiring rules is the installer's job (a new table without them).
///
/// Lookup is tuple-space search (``RuleIndex``); cost grows with the number of distinct rule
/// shapes, not rules. A table is a value: copies share the compiled index and carry their own
/// buckets and counters.
public struct RuleTable: Sendable {
    /// The rules in evaluation order: priority descending, then id ascending.
    public let rules: [Rule]
    let index: RuleIndex
    let slotByID: [UInt32: Int]
    /// Per slot: 0 drop, 1 pass, 2 count, 3 rate-limit, 4 syn-auth, 5 flow-check.
    let actionKind: [UInt8]
    var buckets: [TokenBucket]
    var hits: [UInt64]
    var drops: [UInt64]
    /// Handshakes seen and connections the host has (what `syn-auth` and `flow-check` read).
    public var connections = ConnectionAuth()

    /// Builds a table; every rule must validate and ids must be unique.
    public init(_ rules: [Rule]) throws(RuleTableError) {
        var ids: Set<UInt32> = []
        for r in rules {
            guard ids.insert(r.id).inserted else { throw .duplicateID(r.id) }
            do { try r.validate() } catch { throw .invalidRule(id: r.id, error) }
        }
        let ordered = rules.sorted { $0.outranks($1) }
        self.rules = ordered
        index = RuleIndex(ordered)
        var map: [UInt32: Int] = [:]
        for (i, r) in ordered.enumerated() { map[r.id] = i }
        slotByID = map
        actionKind = ordered.map {
            switch $0.action {
            case .drop: return 0
            case .pass: return 1
            case .count: return 2
            case .rateLimit: return 3
            case .synAuth: return 4
            case .flowCheck: return 5
            }
        }
        buckets = ordered.map {
            if case .rateLimit(let pps, _) = $0.action {
                return TokenBucket(pps: pps, burst: $0.action.effectiveBurst!)
            }
            return TokenBucket(pps: 0, burst: 0)
        }
        hits = Array(repeating: 0, count: ordered.count)
        drops = hits
    }

    /// Builds a table and keeps the buckets and counters of rules `previous` also had with the
    /// same id and action — refreshing a rule's TTL must not hand an attacker a fresh burst.
    public init(_ rules: [Rule], carryingStateFrom previous: RuleTable) throws(RuleTableError) {
        try self.init(rules)
        connections = previous.connections
        for (slot, r) in self.rules.enumerated() {
            guard let old = previous.slotByID[r.id], previous.rules[old].action == r.action else { continue }
            buckets[slot] = previous.buckets[old]
            hits[slot] = previous.hits[old]
            drops[slot] = previous.drops[old]
        }
    }

    /// The rule that wins `f`, without touching buckets or counters.
    public func matchingRule(for f: PacketFeatures) -> Rule? {
        index.match(f).map { rules[Int($0)] }
    }

    /// Decides one packet, updating the winning rule's counters and bucket.
    public mutating func classify(_ f: PacketFeatures) -> Verdict {
        guard let s = index.match(f) else { return Verdict(ruleID: nil, decision: .pass) }
        let slot = Int(s)
        let id = rules[slot].id
        hits[slot] &+= 1
        switch actionKind[slot] {
        case 0:
            drops[slot] &+= 1
            return Verdict(ruleID: id, decision: .drop)
        case 1:
            return Verdict(ruleID: id, decision: .pass)
        case 2:
            return Verdict(ruleID: id, decision: .counted)
        case 4, 5:
            if actionKind[slot] == 4 ? connections.admitSYN(f) : connections.admitFlow(f) {
                return Verdict(ruleID: id, decision: .pass)
            }
            drops[slot] &+= 1
            return Verdict(ruleID: id, decision: .drop)
        default:
            if buckets[slot].take(at: f.timestamp) { return Verdict(ruleID: id, decision: .pass) }
            drops[slot] &+= 1
            return Verdict(ruleID: id, decision: .rateLimited)
        }
    }

    /// A packet the host sends: what the filter's egress half records (``ConnectionAuth/observeEgress(_:)``).
    public mutating func observeEgress(_ f: PacketFeatures) {
        connections.observeEgress(f)
    }

    /// Counters of one rule, nil for an id not in the table.
    public func counters(forRule id: UInt32) -> RuleCounters? {
        slotByID[id].map { RuleCounters(hits: hits[$0], drops: drops[$0]) }
    }

    /// Counters of every rule, by id.
    public var allCounters: [UInt32: RuleCounters] {
        var out: [UInt32: RuleCounters] = [:]
        for (i, r) in rules.enumerated() { out[r.id] = RuleCounters(hits: hits[i], drops: drops[i]) }
        return out
    }

    /// Zeroes counters and refills every bucket (as a freshly installed table).
    public mutating func reset() {
        for i in hits.indices {
            hits[i] = 0
            drops[i] = 0
            buckets[i] = TokenBucket(pps: buckets[i].pps, burst: buckets[i].capacity / TokenBucket.nanotokensPerToken)
        }
    }

    /// Number of distinct rule shapes (what lookup cost grows with).
    public var shapeCount: Int { index.shapes.count }
}
