import Rules

/// What the offline replay (``Evaluation``) does with a closed incident's rules, as the live
/// sidecar does: they stay in the table for ``DetectorConfig/hold``, a drop softened to a rate
/// limit of ``DetectorConfig/heldRate``, so a pulse that returns within the hold meets its rule
/// from its first packet instead of passing until the detector recognises it. A false positive's
/// rules are not held (they were dropping real users); a held rule the detector installs again
/// (recalled or derived anew, the same match) is replaced by the new one.
struct HeldRules {
    private var held: [(until: UInt64, rule: Rule)] = []

    var rules: [Rule] { held.map(\.rule) }

    mutating func hold(_ inc: Incident, config: DetectorConfig) {
        guard inc.falsePositive == nil, let closed = inc.closedAt, config.hold > .zero else { return }
        let until = closed &+ DetectorConfig.ns(config.hold)
        for r in inc.rules.flatMap(\.installed) {
            var rule = r.rule(priority: config.rulePriority)
            if rule.action == .drop { rule.action = .rateLimit(pps: config.heldRate, burst: config.heldRate) }
            held.append((until, rule))
        }
    }

    /// Held rules with the same match as one of `rules` give way to it.
    mutating func supersede(by rules: [DetectedRule]) {
        guard !held.isEmpty else { return }
        let matches = Set(rules.map { Set($0.predicates.map(\.predicate)) })
        held.removeAll { matches.contains(Set($0.rule.predicates)) }
    }

    /// Forgets the rules whose hold ran out by `t`; true when any did (the table changes).
    mutating func expire(upTo t: UInt64) -> Bool {
        guard held.contains(where: { $0.until <= t }) else { return false }
        held.removeAll { $0.until <= t }
        return true
    }
}
