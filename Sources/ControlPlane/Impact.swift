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
        /// The ids of the rules that dropped towards it, those that dropped most first, at most
        /// ``Impact/rulesListed`` (a blocklist has thousands); `rule_count` counts them all.
        var rules: [UInt32]
        var rule_count: Int
    }

    /// The rule ids a destination lists at most.
    static let rulesListed = 20

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
        // An operator's rule in every interface's filter is one rule here, its drops added up.
        var byDestination: [String: [UInt32: UInt64]] = [:]
        for (r, drops) in drops where drops > 0 {
            byDestination[Self.destination(of: r), default: [:]][r.id, default: 0] += drops
        }
        drops_by_destination = byDestination.map { key, rules in
            let ranked = rules.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            return Destination(destination: key, drops: rules.values.reduce(0, +), rules: ranked.prefix(Self.rulesListed).map(\.key),
                               rule_count: rules.count)
        }.sorted { ($0.drops, $1.destination) > ($1.drops, $0.destination) }
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
