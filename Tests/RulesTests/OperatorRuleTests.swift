import Rules
import Testing

/// Issue 10 §6: rules an operator hands over that would drop far more than meant, or collide
/// with the live loop, are refused with the reason.
@Suite struct OperatorRuleTests {
    func rules(_ text: String) throws -> [Rule] { try RuleFile.parse(text) }

    @Test func anEmptyMatchNeedsMatchAll() throws {
        let r = try rules("(rule (and) (drop) :id 35)")
        #expect(OperatorRuleProblem.check(r, allowMatchAll: false) == .matchesEverything(id: 35))
        #expect(OperatorRuleProblem.check(r, allowMatchAll: true) == nil)
    }

    @Test func idZeroAndTheSidecarRangeAreRefused() throws {
        #expect(OperatorRuleProblem.check(try rules("(rule (= proto udp) (drop) :id 0)"), allowMatchAll: false) == .idZero)
        #expect(OperatorRuleProblem.check(try rules("(rule (= proto udp) (drop) :id 1000000001)"), allowMatchAll: false)
                == .sidecarID(1_000_000_001))
        #expect(OperatorRuleProblem.check(try rules("(rule (= proto udp) (drop) :id 999999999)"), allowMatchAll: false) == nil)
        // Rules without :id get ids from 1, never 0.
        #expect(OperatorRuleProblem.check(try rules("(rule (= proto udp) (drop))"), allowMatchAll: false) == nil)
    }

    @Test func noRulesIsAnErrorUnlessReplacingAll() throws {
        #expect(OperatorRuleProblem.check(try rules(""), allowMatchAll: false) == .noRules)
        #expect(OperatorRuleProblem.check(try rules("; only a comment\n"), allowMatchAll: false, allowEmpty: true) == nil)
    }

    @Test func aZeroRateIsNotALimit() throws {
        #expect(throws: RuleParseError.self) { try rules("(rule (= proto udp) (rate-limit 0) :id 3)") }
        let r = Rule(id: 3, match: [.equals(.proto, 17)], action: .rateLimit(pps: 0, burst: nil))
        #expect(throws: RuleValidationError.zeroRate) { try r.validate() }
        #expect(throws: (any Error).self) { try RuleTable([r]) }
    }
}

/// `holon rules add` without `:id` gave every rule id 1, so the second one an operator added was
/// refused ("two rules have id 1"): rules without an id are now numbered next to the table's.
@Suite struct RuleNumberingTests {
    let base = RuleOwnership.sidecarBase

    func entries(_ text: String) throws -> [RuleFile.Entry] { try RuleFile.entries(text) }

    @Test func aRuleWithoutAnIdFollowsTheOperatorsLargest() throws {
        let e = try entries("(rule (= proto udp) (drop))\n(rule (= proto tcp) (drop))")
        // The live loop's ids do not count: operators' rules number after their own.
        let r = RuleFile.numbered(e, besides: [1, 2, 5, base + 3], below: base)
        #expect(r.map(\.id) == [6, 7])
        #expect(RuleFile.numbered(e, besides: [], below: base).map(\.id) == [1, 2])
    }

    @Test func writtenIdsAreKeptAndSkipped() throws {
        let e = try entries("(rule (= proto udp) (drop))\n(rule (= proto tcp) (drop) :id 9)\n(rule (= proto icmp) (drop))")
        #expect(RuleFile.numbered(e, besides: [3], below: base).map(\.id) == [10, 9, 11])
        // A file alone numbers after its largest written id, as before.
        #expect(try RuleFile.parse("(rule (= proto udp) (drop))\n(rule (= proto tcp) (drop) :id 9)").map(\.id) == [10, 9])
    }

    @Test func atTheRangesEndTheLowestFreeIdsAreTaken() throws {
        let e = try entries("(rule (= proto udp) (drop))\n(rule (= proto tcp) (drop))")
        let r = RuleFile.numbered(e, besides: [1, 3, base - 1, base], below: base)
        #expect(r.map(\.id) == [2, 4])
        #expect(r.allSatisfy { !RuleOwnership.isSidecar($0.id) })
    }
}
