import Packets

/// A filter rule: an AND of predicates, an action, a priority and the story of why it exists.
///
/// Semantics (DESIGN.md, "Rule semantics"; ``RuleTable`` is the reference matcher):
/// - a rule matches a packet when every predicate holds; no predicates matches every packet;
/// - among matching rules the highest `priority` wins, ties go to the lower `id`;
/// - `ttl` and `createdAt` are metadata for whoever installs the rule (the sidecar removes
///   expired rules); the matcher does not look at them.
///
/// Text form: ``text`` / ``init(parsing:)`` (see `RuleText.swift`); JSON form: `Codable`
/// (see `RuleJSON.swift`). Both round-trip exactly: `Rule(parsing: r.text) == r`.
public struct Rule: Hashable, Sendable {
    /// Unique within a table. 0 is a valid id; the text form omits `:id` when it is 0.
    public var id: UInt32
    /// ANDed, in the order written (order is kept so printing is stable; it never changes the
    /// meaning).
    public var predicates: [Predicate]
    public var action: Action
    /// Higher wins.
    public var priority: Int32
    /// Lifetime in whole seconds from ``createdAt`` (or from installation), nil for no expiry.
    /// Whole seconds keep the text and JSON forms exact.
    public var ttlSeconds: UInt32?
    /// Short label for people (dashboards, logs).
    public var name: String?
    /// Why the detector wrote the rule, e.g. `src_port=53 presence 0.02→0.91`.
    public var explanation: String?
    /// When the rule was made, ns since the Unix epoch (same clock as packet timestamps).
    public var createdAt: UInt64?

    public init(
        id: UInt32 = 0,
        match predicates: [Predicate] = [],
        action: Action,
        priority: Int32 = 0,
        ttlSeconds: UInt32? = nil,
        name: String? = nil,
        explanation: String? = nil,
        createdAt: UInt64? = nil
    ) {
        self.id = id
        self.predicates = predicates
        self.action = action
        self.priority = priority
        self.ttlSeconds = ttlSeconds
        self.name = name
        self.explanation = explanation
        self.createdAt = createdAt
    }

    /// The TTL as a `Duration` (whole seconds).
    public var ttl: Duration? {
        ttlSeconds.map { .seconds(Int64($0)) }
    }

    /// Expiry time in ns, when both `createdAt` and `ttlSeconds` are known.
    public var expiresAt: UInt64? {
        guard let c = createdAt, let t = ttlSeconds else { return nil }
        return c &+ UInt64(t) * 1_000_000_000
    }

    /// True once `now` (ns) reaches ``expiresAt``; a rule without one never expires.
    public func isExpired(at now: UInt64) -> Bool {
        guard let e = expiresAt else { return false }
        return now >= e
    }

    /// The reference meaning of "this rule matches this packet".
    public func matches(_ f: PacketFeatures) -> Bool {
        predicates.allSatisfy { $0.matches(f) }
    }

    /// Like ``matches(_:)`` with the whole payload at hand (byte predicates past the head).
    public func matches(_ f: PacketFeatures, payload: UnsafeRawBufferPointer) -> Bool {
        predicates.allSatisfy { $0.matches(f, payload: payload) }
    }

    /// Throws the first broken invariant: predicate values within their fields, prefixes on
    /// address fields with lengths that fit, mask values inside masks, burst ≤ ``TokenBucket/maxBurst``,
    /// `syn-auth` only on rules matching nothing but TCP SYNs without ACK, `flow-check` only on
    /// TCP rules that cannot match one (a connection request has no connection to check yet).
    public func validate() throws(RuleValidationError) {
        for p in predicates { try p.validate() }
        if case .rateLimit(_, let b?) = action, b > TokenBucket.maxBurst { throw .burstTooLarge(b) }
        // 0 pps with an explicit burst passes the burst and then drops (a test's deterministic
        // limit); without one it only looks like a limit.
        if case .rateLimit(0, nil) = action { throw .zeroRate }
        if action == .synAuth, !(isTCP && flagsGuarantee(set: TCPFlag.syn, clear: TCPFlag.ack)) { throw .synAuthNeedsSYN }
        if action == .flowCheck, !isTCP || !excludesConnectionRequests { throw .flowCheckNeedsEstablished }
    }

    /// The rule matches only TCP (`(= proto tcp)`).
    var isTCP: Bool { predicates.contains(.equals(.proto, UInt64(IPProtocol.tcp))) }

    /// Some tcp_flags predicate holds only for packets with every `set` bit set and every
    /// `clear` bit clear.
    func flagsGuarantee(set: UInt8, clear: UInt8) -> Bool {
        let want = UInt64(set), both = UInt64(set | clear)
        return predicates.contains { p in
            switch p {
            case .equals(.tcpFlags, let v): return v & both == want
            case .mask(.tcpFlags, let m, let v): return m & both == both && v & both == want
            default: return false
            }
        }
    }

    /// No packet the rule matches is a connection request (SYN without ACK): some flags
    /// predicate requires ACK, or requires SYN clear.
    var excludesConnectionRequests: Bool {
        flagsGuarantee(set: TCPFlag.ack, clear: 0) || flagsGuarantee(set: 0, clear: TCPFlag.syn)
    }
}
