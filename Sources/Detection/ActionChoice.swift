import Packets
import Rules

/// How a rule authenticates connections instead of limiting a rate.
public enum ConnectionCheck: String, Sendable, Hashable, Codable {
    /// `(syn-auth)`: connection requests pass once their retransmission proves a real sender.
    case synAuth
    /// `(flow-check)`: mid-connection packets pass only on connections the host has.
    case flowCheck

    public var action: Action { self == .synAuth ? .synAuth : .flowCheck }
}

/// The action a derived rule gets when a rate limit would be the wrong tool.
///
/// A rate limit is derived when the attack's rule also covers normal traffic (its baseline
/// share is above zero). When the rule says no more than "TCP, these flags, to this host and
/// port", every field a flood randomises was useless to the deriver, and a shared rate limit
/// lets real clients compete with the flood for its budget (1 : 2,000 in the lab). For TCP
/// connection requests and mid-connection packets the host can tell real peers from forged ones
/// instead: `syn-auth` for SYNs, `flow-check` for packets with ACK. The rule is scoped to the
/// victim's address and port (when every covered packet shares them) so nothing else pays the
/// first-SYN delay.
enum ActionChoice {
    /// Fields that say where a flood goes and what kind it is, not who sends it.
    static let unseparating: Set<RuleField> = [.proto, .tcpFlags, .dstIP, .dstPort, .dstPortBand, .direction]

    static func refine(_ r: DetectedRule, covering covered: [PacketFeatures]) -> DetectedRule {
        guard r.rateLimitPps != nil, r.authentication == nil,
              r.predicates.allSatisfy({ unseparating.contains($0.field) }),
              r.predicates.contains(Candidate(field: .proto, kind: .equals(UInt64(IPProtocol.tcp)))),
              let flags = r.predicates.lazy.compactMap({ c -> UInt64? in
                  if c.field == .tcpFlags, case .equals(let v) = c.kind { return v }
                  return nil
              }).first
        else { return r }
        let check: ConnectionCheck
        if flags & 0x12 == 0x02 {
            check = .synAuth
        } else if flags & 0x10 != 0 {
            check = .flowCheck
        } else {
            return r
        }
        var predicates = r.predicates
        for field in [RuleField.dstIP, .dstPort] where !predicates.contains(where: { $0.field == field }) {
            guard let v = covered.first.flatMap(field.value(in:)), covered.allSatisfy({ field.value(in: $0) == v }) else { continue }
            let kind: Candidate.Kind
            if field == .dstIP, let a = covered.first?.dstIP, !a.isV4 { kind = .address(a) } else { kind = .equals(v) }
            let at = predicates.firstIndex { RuleDeriver.rank($0.field) > RuleDeriver.rank(field) } ?? predicates.count
            predicates.insert(Candidate(field: field, kind: kind), at: at)
        }
        let why = r.explanation + "; no header separates it from normal traffic: \(check.action.keyword) instead of a rate limit"
        return DetectedRule(id: r.id, rateLimitPps: nil, derivedAt: r.derivedAt, explanation: why,
                            predicates: predicates, baselineShare: r.baselineShare, authentication: check)
    }
}
