import Packets

/// One attack, one incident: what the first rules of an attack missed (a reflection's RST-ACKs
/// beside its SYN-ACKs, too few in the first samples to earn a rule) shows up a moment later as
/// unexplained traffic and is attributed as a crossing of its own. When that comes within
/// ``mergeWindow`` of an open incident and goes to the same hosts, it is the same attack: its
/// rules join that incident instead of opening another.
extension Detector {
    /// How soon after an incident opened a new crossing's rules may still be a part of it.
    static let mergeWindow: UInt64 = 1_000_000_000

    /// The open, announced incident the not-yet-announced incident `i` with rules `rules` is a
    /// fragment of, if any.
    func fragmentOf(_ i: Int, rules: [DetectedRule]) -> Int? {
        let opened = incidents[i].openedAt
        let targets = rules.flatMap { $0.predicates.filter { $0.field == .dstIP } }
        guard !targets.isEmpty else { return nil }
        return incidents.indices.last { j in
            j != i && incidents[j].isOpen && incidents[j].announced && !incidents[j].rules.isEmpty
                && opened >= incidents[j].openedAt && opened - incidents[j].openedAt <= Self.mergeWindow
                && incidents[j].rules.contains { r in
                    r.predicates.contains { old in old.field == .dstIP && targets.contains { Self.overlap(old, $0) } }
                }
        }
    }

    /// Adds the rules to incident `j` and forgets incident `i` (never announced: nothing to undo).
    mutating func merge(_ rules: [DetectedRule], from i: Int, into j: Int, at t: UInt64) {
        let keep = incidents[j].id
        incidents[j].rules += rules
        for r in rules { activeRules.append((keep, r)) }
        events.append(.rules(incident: keep, rules.flatMap(\.installed)))
        forgetUnannounced(at: i)
        residualMark = (ring.written, t)
        nextResidualCheck = t + 250_000_000
    }

    /// Whether two IPv4 destination predicates (an address or a prefix) share an address.
    static func overlap(_ a: Candidate, _ b: Candidate) -> Bool {
        func block(_ c: Candidate) -> (net: UInt32, len: Int)? {
            switch c.kind {
            case .equals(let v): return (UInt32(truncatingIfNeeded: v), 32)
            case .prefix(let n, let l): return (n, l)
            default: return nil
            }
        }
        guard let x = block(a), let y = block(b) else { return a == b }
        let len = min(x.len, y.len)
        let mask: UInt32 = len == 0 ? 0 : UInt32.max << UInt32(32 - len)
        return x.net & mask == y.net & mask
    }
}
