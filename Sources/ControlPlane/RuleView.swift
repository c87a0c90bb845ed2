import Foundation
import Dataplane
import Rules
import Sidecar

/// One rule of the filter as the API and the dashboard show it: what it is, who owns it, how
/// long it has been there and has left, the incident that made it and what it did.
struct RuleView: Encodable, Sendable {
    var id: UInt32
    /// The interface whose filter holds it, when the run protects several (null: one filter).
    @NullWhenAbsent var interface: String?
    var rule: String
    /// The action's keyword (`drop`, `rate-limit`, `syn-auth`, `flow-check`, …), for filtering
    /// and styling without parsing the rule text.
    var action: String
    @NullWhenAbsent var name: String?
    var owner: String
    @NullWhenAbsent var ttl_s: UInt32?
    @NullWhenAbsent var created_ns: UInt64?
    @NullWhenAbsent var explanation: String?
    var hits: UInt64
    var drops: UInt64
    /// Seconds since it was derived (or last re-verified: the sidecar renews `:created`).
    @NullWhenAbsent var age_s: Double?
    /// Seconds of TTL left; null when it has no TTL (an operator's or a pinned rule).
    @NullWhenAbsent var expires_in_s: Double?
    /// A live-loop rule an operator kept past its TTL (`pin`).
    var pinned: Bool
    /// The incident it was installed for, when known.
    @NullWhenAbsent var incident: Int?
    /// Its BGP Flowspec state (announced, withdrawn, refused, observed, failed), nil without BGP.
    @NullWhenAbsent var bgp: String?
    /// The specification announced, or why it was not.
    @NullWhenAbsent var bgp_detail: String?

    init(_ r: Rule, counters: RuleCounters?, sidecarBase: UInt32, incident: Int?, nowNs: UInt64) {
        let sidecar = r.id >= sidecarBase
        id = r.id
        rule = SidecarEvent.short(r)
        action = r.action.keyword
        name = r.name
        owner = OwnerTotals.owner(of: r.id, sidecarBase: sidecarBase)
        ttl_s = r.ttlSeconds
        created_ns = r.createdAt
        explanation = r.explanation
        hits = counters?.hits ?? 0
        drops = counters?.drops ?? 0
        age_s = r.createdAt.map { Double(Int64(bitPattern: nowNs &- $0)) / 1e9 }
        expires_in_s = r.expiresAt.map { max(0, Double(Int64(bitPattern: $0 &- nowNs)) / 1e9) }
        pinned = sidecar && r.ttlSeconds == nil
        // A rule adopted from an earlier run: its incident, which this run's events never
        // mentioned, from its name.
        self.incident = sidecar ? (incident ?? IncidentRuleName.incident(of: r.name)) : nil
    }

    static func nowNs() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1e9)) }
}
