import Dataplane
@testable import Detection
import Foundation
import Rules
@testable import Sidecar
import TestSupport
import Testing

/// The sidecar's bookkeeping: what it may install, what it takes over from an earlier run, and
/// what it never touches — against the reference filter (every `swift test`) and, as root, a
/// private, unattached copy of the real one.
@Suite("Sidecar guardrails", .ownThread, .serialized)
struct GuardrailTests {
    let operatorRule = Rule(id: 7, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop, priority: 10)

    func detected(_ id: UInt32, port: UInt64) -> DetectedRule {
        DetectedRule(id: id, rateLimitPps: nil, derivedAt: 1, explanation: "test",
                     predicates: [Candidate(field: .proto, kind: .equals(6)), Candidate(field: .dstPort, kind: .equals(port))],
                     baselineShare: 0)
    }

    @Test(arguments: FilterKind.available) func ruleBudgetRefusesWithAReason(_ kind: FilterKind) throws {
        let dp = try kind.make()
        try dp.update { _ in [operatorRule] }
        var config = SidecarConfig()
        config.maxRules = 2
        let sidecar = Sidecar(dataplane: dp, config: config)
        var events: [SidecarEvent] = []
        try sidecar.install([detected(1, port: 80), detected(2, port: 443)], incident: 1, now: 0) { events.append($0) }
        try sidecar.install([detected(3, port: 22)], incident: 2, now: 0) { events.append($0) }
        #expect(Set(dp.rules.map(\.id)) == [7, 1_000_000_001, 1_000_000_002])
        guard case .refused(let incident, let rules, let reason)? = events.last else {
            Issue.record("expected a refusal, got \(events.map(\.text))")
            return
        }
        #expect(incident == 2 && rules.map(\.id) == [1_000_000_003])
        #expect(reason.contains("limit 2"))
    }

    /// Issue 10 §5: with `--max-rules 1`, later attacks were refused and never retried.
    @Test(arguments: FilterKind.available) func refusedIncidentsAreRetriedAndHeldRulesGiveWay(_ kind: FilterKind) throws {
        let dp = try kind.make()
        var config = SidecarConfig()
        config.maxRules = 1
        let sidecar = Sidecar(dataplane: dp, config: config)
        var events: [SidecarEvent] = []
        try sidecar.install([detected(1, port: 80)], incident: 1, now: 0) { events.append($0) }
        try sidecar.install([detected(2, port: 443)], incident: 2, now: 0) { events.append($0) }
        #expect(dp.rules.map(\.id) == [1_000_000_001], "incident 1 is open: its rule stays")
        #expect(events.contains { if case .refused(2, _, _) = $0 { true } else { false } })
        try sidecar.retryWaiting(now: 1) { events.append($0) }
        #expect(dp.rules.map(\.id) == [1_000_000_001], "still no room")
        // Incident 1 closes: its rule is held, and gives way to open incident 2.
        var one = Incident(id: 1, openedAt: 0, drift: 1, dimension: 64)
        one.closedAt = 10
        try sidecar.handle([.closed(one)], now: 2_000_000_000) { events.append($0) }
        try sidecar.retryWaiting(now: 2_000_000_000) { events.append($0) }
        #expect(dp.rules.map(\.id) == [1_000_000_002])
        #expect(events.contains { if case .removed([1_000_000_001], let why) = $0 { why.contains("gave way") } else { false } })
        // A third incident while 2 is open waits; once 2 closes it is not retried for a closed one.
        try sidecar.install([detected(3, port: 22)], incident: 3, now: 3_000_000_000) { events.append($0) }
        var three = Incident(id: 3, openedAt: 0, drift: 1, dimension: 64)
        three.closedAt = 10
        try sidecar.handle([.closed(three)], now: 4_000_000_000) { events.append($0) }
        try sidecar.retryWaiting(now: 4_000_000_000) { events.append($0) }
        #expect(dp.rules.map(\.id) == [1_000_000_002])
    }

    /// Issue 10 §2: a false positive's rules go at once, not after the hold.
    @Test(arguments: FilterKind.available) func aFalsePositivesRulesGoAtOnce(_ kind: FilterKind) throws {
        let dp = try kind.make()
        let sidecar = Sidecar(dataplane: dp, config: SidecarConfig())
        var events: [SidecarEvent] = []
        try sidecar.install([detected(1, port: 80)], incident: 1, now: 0) { events.append($0) }
        var incident = Incident(id: 1, openedAt: 0, drift: 1, dimension: 64)
        incident.closedAt = 10
        incident.falsePositive = "90% of the 60 samples its rules matched came from sources seen in normal traffic"
        try sidecar.handle([.closed(incident)], now: 1_000_000_000) { events.append($0) }
        #expect(dp.rules.isEmpty)
        #expect(sidecar.stats.falsePositives == 1)
        #expect(events.contains { if case .notice("false-positive", _) = $0 { true } else { false } })
    }

    /// `holon rules release` and `holon rules pin` act through the table; the sidecar notices.
    @Test(arguments: FilterKind.available) func operatorsReleaseAndPinThroughTheTable(_ kind: FilterKind) throws {
        let dp = try kind.make()
        let sidecar = Sidecar(dataplane: dp, config: SidecarConfig())
        var events: [SidecarEvent] = []
        try sidecar.install([detected(1, port: 80), detected(2, port: 443)], incident: 1, now: 0) { events.append($0) }
        try dp.update { $0.filter { $0.id != 1_000_000_001 }.map { r in var r = r; r.ttlSeconds = nil; return r } }
        try sidecar.noticeOperatorChanges(now: 1) { events.append($0) }
        let notices = events.compactMap { if case .notice(let k, _) = $0 { k } else { nil } }
        #expect(notices == ["pinned"])
        // A release is a removal, as the announcer and the API follow them: a notice alone left
        // the rule's Flowspec route announced.
        #expect(events.contains { if case .removed([1_000_000_001], let why) = $0 { why.hasPrefix("released by an operator") } else { false } },
                "\(events.map(\.text))")
        #expect(sidecar.ownedRules.isEmpty)
        #expect(sidecar.detector.isSuppressed(detected(1, port: 80).predicates.map(\.predicate), at: 2))
        // A pinned rule outlives every hold and TTL: the sidecar no longer owns it.
        try sidecar.expire(now: .max / 2) { events.append($0) }
        #expect(dp.rules.map(\.id) == [1_000_000_002])
        // Deleted by an operator, it is removed as far as what follows the loop's rules is
        // concerned (its Flowspec route stayed announced until holon stopped).
        events.removeAll()
        try dp.update { $0.filter { $0.id != 1_000_000_002 } }
        try sidecar.noticeOperatorChanges(now: 3) { events.append($0) }
        #expect(events.contains { if case .removed([1_000_000_002], let why) = $0 { why.contains("pinned") } else { false } },
                "\(events.map(\.text))")
    }

    /// A restart finds a rule an operator pinned: not the loop's, but said with what it adopts
    /// (a Flowspec route for it goes out again), and its deletion is followed.
    @Test func aPinnedRuleIsFollowedAcrossARestart() throws {
        let dp = ReferenceFilter()
        let pinned = Rule(id: 1_000_000_003, match: [.equals(.proto, 17), .equals(.dstPort, 53)], action: .drop, priority: 100, name: "holon-incident-2")
        try dp.update { _ in [operatorRule, pinned] }
        let sidecar = Sidecar(dataplane: dp, config: SidecarConfig())
        var events: [SidecarEvent] = []
        sidecar.adopt(now: 1) { events.append($0) }
        guard case .adopted(let rules)? = events.first else { Issue.record("nothing said: \(events.map(\.text))"); return }
        #expect(rules.map(\.id) == [1_000_000_003] && sidecar.ownedRules.isEmpty)
        #expect(events.first?.text == "adopted 0 rule(s) of an earlier run (kept until their TTL) and 1 pinned by an operator (kept until deleted)")
        try sidecar.expire(now: .max / 2) { events.append($0) }
        #expect(dp.rules.count == 2, "never expired by the loop")
        try dp.update { $0.filter { $0.id != 1_000_000_003 } }
        try sidecar.noticeOperatorChanges(now: 2) { events.append($0) }
        guard case .removed([1_000_000_003], _)? = events.last else { Issue.record("deletion not said: \(events.map(\.text))"); return }
    }

    /// The TTL is a hard limit from the last verification: an open incident's rule is renewed.
    @Test(arguments: FilterKind.available) func openIncidentsRulesAreRenewedAtTheirTTL(_ kind: FilterKind) throws {
        let dp = try kind.make()
        let sidecar = Sidecar(dataplane: dp, config: SidecarConfig())
        var events: [SidecarEvent] = []
        try sidecar.install([detected(1, port: 80)], incident: 1, now: 1) { events.append($0) }
        let ttl = UInt64(sidecar.detector.config.ruleTTL.components.seconds) * 1_000_000_000
        try sidecar.expire(now: ttl + 5) { events.append($0) }
        #expect(dp.rules.first?.createdAt == ttl + 5)
        #expect(events.contains { if case .notice("re-verified", _) = $0 { true } else { false } })
    }

    @Test(arguments: FilterKind.available) func closedIncidentsRulesGoAfterTheHoldAndOperatorsStay(_ kind: FilterKind) throws {
        let dp = try kind.make()
        try dp.update { _ in [operatorRule] }
        var config = SidecarConfig()
        config.hold = .seconds(5)
        let sidecar = Sidecar(dataplane: dp, config: config)
        var events: [SidecarEvent] = []
        try sidecar.install([detected(1, port: 80)], incident: 1, now: 0) { events.append($0) }
        var incident = Incident(id: 1, openedAt: 0, drift: 1, dimension: 64)
        incident.closedAt = 10
        try sidecar.handle([.closed(incident)], now: 10_000_000_000) { events.append($0) }
        try sidecar.expire(now: 14_000_000_000) { events.append($0) }
        #expect(Set(dp.rules.map(\.id)) == [7, 1_000_000_001], "held for 5 s after the close")
        // The soak's finding: during the hold only real users send what the match covers, so the
        // held rule passes a normal rate instead of dropping it.
        #expect(dp.rules.first { $0.id == 1_000_000_001 }?.action == .rateLimit(pps: config.heldRate, burst: config.heldRate))
        #expect(operatorRule.action == .drop && dp.rules.first { $0.id == 7 }?.action == .drop, "operators' rules untouched")
        try sidecar.expire(now: 15_000_000_001) { events.append($0) }
        #expect(dp.rules.map(\.id) == [7])
        guard case .removed(let ids, _)? = events.last else { Issue.record("no removal"); return }
        #expect(ids == [1_000_000_001])
    }

    /// A held rule the next incident derives again keeps its id: its counters go on and its
    /// Flowspec route is replaced in place (a new id withdrew the route, then announced it).
    /// Holding it is a change of the rule under its id, which the announcer follows too.
    @Test(arguments: FilterKind.available) func aHeldRuleDerivedAgainKeepsItsID(_ kind: FilterKind) throws {
        let dp = try kind.make()
        try dp.update { _ in [operatorRule] }
        let sidecar = Sidecar(dataplane: dp, config: SidecarConfig())
        var events: [SidecarEvent] = []
        try sidecar.install([detected(1, port: 80)], incident: 1, now: 0) { events.append($0) }
        var one = Incident(id: 1, openedAt: 0, drift: 1, dimension: 64)
        one.closedAt = 10
        try sidecar.handle([.closed(one)], now: 1_000_000_000) { events.append($0) }
        let limited = Action.rateLimit(pps: sidecar.config.heldRate, burst: sidecar.config.heldRate)
        guard case .changed(let held, _)? = events.last else { Issue.record("holding said nothing: \(events.map(\.text))"); return }
        #expect(held.map(\.id) == [1_000_000_001] && held.first?.action == limited)

        // The attack resumes: the same match (its predicates in another order) under the same id.
        let again = DetectedRule(id: 9, rateLimitPps: nil, derivedAt: 1, explanation: "test",
                                 predicates: detected(1, port: 80).predicates.reversed(), baselineShare: 0)
        events.removeAll()
        try sidecar.install([again], incident: 2, now: 2_000_000_000) { events.append($0) }
        #expect(Set(dp.rules.map(\.id)) == [7, 1_000_000_001], "one rule, under its id")
        #expect(dp.rules.first { $0.id == 1_000_000_001 }?.action == .drop, "dropping again")
        #expect(!events.contains { if case .removed = $0 { true } else { false } }, "\(events.map(\.text))")
        guard case .installed(2, let rules, _)? = events.last else { Issue.record("not installed: \(events.map(\.text))"); return }
        #expect(rules.map(\.id) == [1_000_000_001])
        #expect(events.contains { if case .notice("derived-again", _) = $0 { true } else { false } })
        #expect(sidecar.ownedRules.map(\.id) == [1_000_000_001])

        // Its incident closes and the hold runs out: it goes, once.
        var two = Incident(id: 2, openedAt: 0, drift: 1, dimension: 64)
        two.closedAt = 10
        try sidecar.handle([.closed(two)], now: 3_000_000_000) { events.append($0) }
        try sidecar.expire(now: 3_000_000_000 + UInt64(sidecar.config.hold.components.seconds) * 1_000_000_000 + 1) { events.append($0) }
        #expect(dp.rules.map(\.id) == [7])
    }

    /// The filter's mode changed under the loop (`holon filter observe`, the API): an event,
    /// which the Flowspec announcer follows. Only a change is said, and an unreadable mode is none.
    @Test func aModeChangeUnderTheLoopIsAnEvent() throws {
        let dp = ReferenceFilter()
        let sidecar = Sidecar(dataplane: dp, config: SidecarConfig())
        var events: [SidecarEvent] = []
        sidecar.noticeModeChange { events.append($0) }
        #expect(events.isEmpty, "the mode at start is no change")
        dp.observing = true
        sidecar.noticeModeChange { events.append($0) }
        sidecar.noticeModeChange { events.append($0) }
        dp.observing = false
        sidecar.noticeModeChange { events.append($0) }
        let modes = events.compactMap { if case .filterMode(let o) = $0 { o } else { nil } }
        #expect(modes == [true, false], "\(events.map(\.text))")
        #expect(events.first?.json == #"{"event":"filter-mode","observe":true}"#)
    }

    @Test(arguments: FilterKind.available) func anEarlierRunsRulesAreAdoptedAndExpireAtTheirTTL(_ kind: FilterKind) throws {
        let dp = try kind.make()
        let now: UInt64 = 1_000_000_000_000
        let old = Rule(id: 1_000_000_005, match: [.equals(.proto, 6)], action: .drop, priority: 100, ttlSeconds: 60,
                       name: "holon-incident-3", createdAt: now - 30_000_000_000)
        try dp.update { _ in [operatorRule, old] }
        var config = SidecarConfig()
        config.hold = .seconds(5)
        let sidecar = Sidecar(dataplane: dp, config: config)
        var events: [SidecarEvent] = []
        sidecar.adopt(now: now) { events.append($0) }
        guard case .adopted(let rules)? = events.first else { Issue.record("nothing adopted"); return }
        #expect(rules.map(\.id) == [1_000_000_005])
        // New rules are numbered above the adopted ones.
        try sidecar.install([detected(1, port: 80)], incident: 1, now: now) { events.append($0) }
        #expect(Set(dp.rules.map(\.id)) == [7, 1_000_000_005, 1_000_000_006])
        // 30 s of its 60 s TTL are left.
        try sidecar.expire(now: now + 29_000_000_000) { events.append($0) }
        #expect(dp.rules.contains { $0.id == 1_000_000_005 })
        try sidecar.expire(now: now + 30_000_000_001) { events.append($0) }
        #expect(Set(dp.rules.map(\.id)) == [7, 1_000_000_006])
    }

    @Test(arguments: FilterKind.available) func aDryRunProposesAndLeavesTheTableAlone(_ kind: FilterKind) throws {
        let dp = try kind.make()
        try dp.update { _ in [operatorRule] }
        var config = SidecarConfig()
        config.dryRun = true
        let sidecar = Sidecar(dataplane: dp, config: config)
        var events: [SidecarEvent] = []
        try sidecar.install([detected(1, port: 80)], incident: 1, now: 0) { events.append($0) }
        #expect(dp.rules.map(\.id) == [7])
        guard case .proposed(1, let rules)? = events.last else { Issue.record("no proposal: \(events.map(\.text))"); return }
        #expect(rules.map(\.id) == [1_000_000_001])
        #expect(events.last?.json.contains("\"event\":\"proposed\"") == true)
    }
}

/// Observe mode (the starting configuration): an incident's rules go in and drop nothing, and
/// the loop says so beside "installed" (which alone read as mitigation).
@Suite("Sidecar in observe mode (root)", .enabled(if: geteuid() == 0))
struct ObserveModeTests {
    @Test func anIncidentInObserveModeSaysItDropsNothing() throws {
        let dp = try Dataplane.transient()
        try dp.setObserve(true)
        let sidecar = Sidecar(dataplane: dp, config: SidecarConfig())
        var events: [SidecarEvent] = []
        func observeNotices() -> [String] {
            events.compactMap { e -> String? in if case .notice("observe-mode", let m) = e { m } else { nil } }
        }
        func rule(_ id: UInt32, port: UInt64) -> DetectedRule {
            DetectedRule(id: id, rateLimitPps: nil, derivedAt: 1, explanation: "test",
                         predicates: [Candidate(field: .proto, kind: .equals(17)), Candidate(field: .dstPort, kind: .equals(port))],
                         baselineShare: 0)
        }
        try sidecar.install([rule(1, port: 80)], incident: 1, now: 0) { events.append($0) }
        #expect(observeNotices() == ["incident 1: the filter observes: its rule(s) count what they match and drop nothing (observe: false to enforce)"])
        try dp.setObserve(false)
        try sidecar.install([rule(2, port: 81)], incident: 2, now: 0) { events.append($0) }
        #expect(observeNotices().count == 1, "enforcing: no such notice")
    }
}

/// The filters the loop's logic is tested against: the reference double always, the kernel's
/// when root.
enum FilterKind: String, CustomTestStringConvertible, Sendable {
    case reference, kernel
    static let available: [FilterKind] = geteuid() == 0 ? [.reference, .kernel] : [.reference]
    var testDescription: String { rawValue }
    func make() throws -> any LoopFilter {
        switch self {
        case .reference: return ReferenceFilter()
        case .kernel: return try Dataplane.transient()
        }
    }
}
