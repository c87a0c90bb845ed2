import Flowspec
import Foundation
import Packets
import Rules
import TestSupport
import Testing

/// A Flowspec route drops at every router what it matches, and Flowspec has no exception: a
/// rule announced as it was installed dropped at the edge the allowlisted resolver the host
/// never drops, and the sources the loop had learned as legitimate and excepted with a pass
/// rule above it. Such a rule now stays in the host's filter alone, said.
struct SparedSourcesTests {
    let victim = Rules.Predicate.prefix(.dstIP, .v4(0xC633_640A), length: 32)   // 198.51.100.10
    let resolver = IPPrefix("192.0.2.53/32")!
    func state(_ a: FlowspecAnnouncer, _ id: UInt32) -> Announcement? { a.announcements.first { $0.ruleID == id } }

    /// DNS answers to the victim (an amplification's shape), and the same from one network only.
    var answers: Rule { Rule(id: 1, match: [victim, .equals(.proto, 17), .equals(.srcPort, 53)], action: .drop) }
    var answersFrom203: Rule {
        Rule(id: 2, match: [victim, .equals(.proto, 17), .equals(.srcPort, 53), .prefix(.srcIP, .v4(0xCB00_7100), length: 24)], action: .drop)
    }
    /// SYNs to the victim: no source port, but TCP, which the resolver's UDP is not told from.
    var syns: Rule { Rule(id: 3, match: [victim, .equals(.proto, 6), .equals(.tcpFlags, 2)], action: .drop) }

    @Test func aRouteThatCouldDropAnAllowlistedSourceIsNotAnnounced() {
        let s = AnnouncerTests.Recording()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!], spared: [resolver]))
        a.announce([answers, answersFrom203, syns], baseline: [])
        a.flush()
        #expect(state(a, 1)?.state == .refused && state(a, 1)?.detail.contains("could drop the allowlisted 192.0.2.53/32 at the routers") == true,
                "\(String(describing: state(a, 1)))")
        #expect(state(a, 2)?.state == .announced, "a source prefix that leaves the resolver out")
        #expect(state(a, 3)?.state == .refused, "the resolver may send SYNs too: not provably spared")
        #expect(s.count == 1)

        // Reloaded without the resolver on the allowlist: announced; with it again: withdrawn.
        a.setSpared([])
        a.flush()
        #expect(state(a, 1)?.state == .announced && state(a, 3)?.state == .announced && s.count == 3)
        a.setSpared([resolver])
        a.flush()
        #expect(state(a, 1)?.state == .refused && state(a, 3)?.state == .refused && s.count == 1)
    }

    @Test func aRuleWithExceptionsAboveItIsNotAnnounced() {
        let s = AnnouncerTests.Recording()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]))
        // The loop's rule and its exception for a source it learned as legitimate (one priority
        // above, after it in the list); and a rule whose exception takes no packet of it.
        let spared = Rule(id: 11, match: answers.predicates + [.prefix(.srcIP, .v4(0xC000_0207), length: 32)], action: .pass, priority: 101)
        var rule = answers
        rule.id = 10
        rule.priority = 100
        let other = Rule(id: 12, match: [victim, .equals(.proto, 6), .equals(.dstPort, 22)], action: .drop, priority: 100)
        a.announce([rule, spared, other], baseline: [])
        a.flush()
        #expect(state(a, 10)?.state == .refused && state(a, 10)?.detail.contains("its exception (rule 11) pass traffic it matches") == true,
                "\(String(describing: state(a, 10)))")
        #expect(state(a, 11)?.state == .refused)
        #expect(state(a, 12)?.state == .announced, "rule 11 takes no packet of rule 12 (UDP against TCP)")
        #expect(s.count == 1)
    }

    /// An operator's pass rule in the host's table (not one of the loop's rules) is an
    /// exception as much as the loop's own; a table that cannot be read could hold one.
    @Test func theHostsOwnPassRulesCountAndAnUnreadableTableRefuses() {
        let s = AnnouncerTests.Recording()
        let operatorPass = Rule(id: 5, match: [.equals(.proto, 17), .prefix(.srcIP, .v4(0xC000_0235), length: 32)], action: .pass, priority: 1_000)
        let table = Locked<[Rule]?>([operatorPass])
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]), hostPasses: { table.get() })
        var rule = answers
        rule.id = 1_000_000_001
        rule.priority = 100
        a.announce([rule, syns], baseline: [])
        a.flush()
        #expect(state(a, rule.id)?.state == .refused && state(a, rule.id)?.detail.contains("rule 5") == true, "\(String(describing: state(a, rule.id)))")
        #expect(state(a, 3)?.state == .announced, "rule 5 is UDP, the SYNs' rule TCP")
        table.set(nil)
        a.announce([answersFrom203], baseline: [])
        a.flush()
        #expect(state(a, 2)?.state == .refused && state(a, 2)?.detail.contains("could not be read") == true)
    }

    /// The host's table is read once for a batch of rules, not once per rule (a million-rule
    /// table was gone through once for each rule an incident announced).
    @Test func theHostsTableIsReadOncePerBatch() {
        let s = AnnouncerTests.Recording()
        let reads = Locked(0)
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]),
                                  hostPasses: { reads.update { $0 += 1 }; return [] })
        let rules = (0..<5).map { k in Rule(id: UInt32(20 + k), match: [victim, .equals(.proto, 17), .equals(.srcPort, UInt64(100 + k))], action: .drop) }
        a.announce(rules, baseline: [])
        a.flush()
        #expect(rules.allSatisfy { state(a, $0.id)?.state == .announced })
        #expect(reads.get() == 1)
        a.setSpared([resolver])   // every rule judged again: one read more
        a.flush()
        #expect(reads.get() == 2)
    }
}
