import Packets
import Rules

/// One attack, fewest rules: when no one conjunction covers a change and spares normal traffic,
/// the change may still be a few kinds of packet of one attack (a TCP reflection's SYN-ACKs from
/// open ports and RST-ACKs from closed ones). Split it by a field that names what a packet is —
/// its TCP flags, ICMP type, service port — into the fewest parts, each with a rule of its own
/// that says what it is and costs normal traffic far less than one rule for the whole would.
///
/// Splitting on fingerprints (window, TTL: one value per reflector) is not tried: that is one
/// rule per server, never covering all of them.
extension RuleDeriver {
    /// Fields a split may use, in the order they are preferred.
    static let splitFields: [RuleField] = [.tcpFlags, .icmpType, .srcPort, .dstPort]
    /// Most parts a split may have (an incident's rule budget).
    static let maxParts = 3
    /// A part must be at least this share of the change.
    static let minPart = 0.1

    /// The rule for the largest part of the best split of `recent`, or nil when no split makes
    /// every part a rule that says what it is and spares normal traffic better than `whole`
    /// (the one-rule answer, if any). The caller derives the rest from what this rule leaves.
    func derivePart(from recent: [PacketFeatures], whole: DerivedRule?) -> DerivedRule? {
        guard recent.count >= 32 else { return nil }
        // A whole rule that leaves part of the change uncovered is no one-rule answer to compare
        // with ("SYN-ACK to the host" spares everything and covers three quarters).
        let wholeCost = whole.flatMap { Self.describes($0.predicates) && $0.recentShare >= coverageNeeded ? $0.baselineShare : nil } ?? 1
        var best: (parts: Int, cost: Double, first: DerivedRule)?
        for field in Self.splitFields {
            var counts: [UInt64: Int] = [:]
            for f in recent { if let v = field.value(in: f) { counts[v, default: 0] += 1 } }
            let parts = counts.filter { Double($0.value) >= Self.minPart * Double(recent.count) }
                .sorted { $0.value > $1.value }
            guard parts.count >= 2, parts.count <= Self.maxParts,
                  coversChange(parts.reduce(0) { $0 + $1.value }, of: recent.count) else { continue }
            var rules: [DerivedRule] = []
            for (v, _) in parts {
                let part = recent.filter { field.value(in: $0) == v }
                guard let r = deriveHeaders(from: part), r.recentShare >= coverageNeeded, Self.describes(r.predicates) else { break }
                rules.append(r)
            }
            guard rules.count == parts.count else { continue }
            let cost = rules.reduce(0) { $0 + $1.baselineShare }
            // Worth more rules only when it spares normal traffic by more than the tolerance.
            guard cost + spareShare < wholeCost else { continue }
            if best == nil || rules.count < best!.parts || (rules.count == best!.parts && cost < best!.cost) {
                // The first part's rule is re-scored on the whole change (its share of it).
                var first = rules[0]
                first.recentShare = Double(parts[0].value) / Double(recent.count) * first.recentShare
                first.siblings = Array(rules.dropFirst())
                best = (rules.count, cost, first)
            }
        }
        return best?.first
    }
}
