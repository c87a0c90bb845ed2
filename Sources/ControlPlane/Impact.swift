import Dataplane
import Rules
import Sidecar

/// What the filter costs legitimate traffic, from what the control plane can see: the share of
/// all packets dropped, drops grouped by the destination the rules protect (a rule without a
/// `dst_ip` predicate drops towards every host: "any"), and the incidents judged false
/// positives (their rules hit sources the baseline knew, and were released).
struct Impact: Encodable, Sendable {
    struct Destination: Encodable, Sendable, Equatable {
        var destination: String
        var drops: UInt64
        var rules: [UInt32]
    }

    struct FalsePositive: Encodable, Sendable, Equatable {
        var incident: Int
        var reason: String
    }

    /// Dropped ÷ seen by the filter since it was attached; null before it saw a packet.
    @NullWhenAbsent var dropped_share: Double?
    /// Most drops first.
    var drops_by_destination: [Destination]
    /// Incidents whose rules were found hitting legitimate users.
    var false_positives: Int
    var false_positive_incidents: [FalsePositive]
    /// Per closed incident, the share of what its rules dropped that came from sources normal
    /// traffic had: what the rules cost real users, as the samples show it.
    var known_source_shares: [KnownShare]

    struct KnownShare: Encodable, Sendable, Equatable {
        var incident: Int
        var share: Double
    }

    /// `drops`: each rule of every filter with what it dropped.
    init(filter: DataplaneStats?, drops: [(Rule, UInt64)], sidecar: SidecarStats, incidents: [IncidentSummary]) {
        if let f = filter, f.packets > 0 { dropped_share = Double(f.dropped) / Double(f.packets) }
        var byDestination: [String: Destination] = [:]
        for (r, drops) in drops {
            guard drops > 0 else { continue }
            let key = Self.destination(of: r)
            byDestination[key, default: Destination(destination: key, drops: 0, rules: [])].drops += drops
            // An operator's rule in every interface's filter is one rule here.
            if byDestination[key]?.rules.contains(r.id) == false { byDestination[key]?.rules.append(r.id) }
        }
        drops_by_destination = byDestination.values.sorted { ($0.drops, $1.destination) > ($1.drops, $0.destination) }
        false_positives = sidecar.falsePositives
        false_positive_incidents = incidents.compactMap { i in i.false_positive.map { FalsePositive(incident: i.id, reason: $0) } }
        known_source_shares = incidents.compactMap { i in i.known_source_share.map { KnownShare(incident: i.id, share: $0) } }
    }

    /// The hosts a rule's `dst_ip` predicates name (`198.51.100.10`, `198.51.100.0/24`), "any"
    /// without one.
    static func destination(of r: Rule) -> String {
        let named = r.predicates.compactMap { p -> String? in
            switch p {
            case .equals(.dstIP, let v): return RuleField.dstIP.format(v)
            case .prefix(.dstIP, let a, let len): return "\(a)/\(len)"
            case .range(.dstIP, let span): return "\(RuleField.dstIP.format(span.lowerBound))–\(RuleField.dstIP.format(span.upperBound))"
            case .mask(.dstIP, _, _): return p.text
            default: return nil
            }
        }
        return named.isEmpty ? "any" : named.joined(separator: " ∧ ")
    }
}
