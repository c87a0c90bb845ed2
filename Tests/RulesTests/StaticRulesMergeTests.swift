import Rules
import Testing

/// A reload (`systemctl reload holon`, to change the allowlist) replaced every operator rule
/// with the static_rules file's: the rule an operator had added during an attack was gone,
/// unsaid. The file now changes its own rules only.
@Suite("static_rules applied to a table")
struct StaticRulesMergeTests {
    func rule(_ text: String) throws -> Rule { try Rule(parsing: text) }

    @Test func theFileChangesItsOwnRulesOnly() throws {
        let static5 = try rule("(rule (and (= proto udp) (= src_ip 10.9.9.9)) (drop) :id 5)")
        let static7 = try rule("(rule (and (= proto udp) (= src_ip 10.7.7.7)) (drop) :id 7)")
        let runtime6 = try rule("(rule (and (= proto udp) (= src_ip 10.1.1.1)) (drop) :id 6)")
        let loop = try rule("(rule (and (= proto udp) (= dst_ip 198.51.100.10)) (drop) :id 1000000001 :ttl 60s)")
        var installed5 = static5
        installed5.createdAt = 1_796_596_424_562_878_293   // the install's stamp
        // The file listed 5 and 7, now only 5: 7 goes, 5 stays as installed, the operator's 6
        // and the loop's rule stay.
        let m = StaticRulesMerge(table: [installed5, runtime6, static7, loop], statics: [static5], previous: [5, 7])
        #expect(Set(m.rules) == Set([installed5, runtime6, loop]))
        #expect(m.removed == [static7] && m.added.isEmpty && m.changed.isEmpty && m.displaced.isEmpty && m.kept == 1)
        #expect(m.summary == "static rules 1 no longer in the file removed (7); 1 operator rule(s) not from the file kept", "\(m.summary)")
    }

    @Test func aNewFileAddsAndChangesAndSaysWhatItReplaced() throws {
        let runtime6 = try rule("(rule (and (= proto udp) (= src_ip 10.1.1.1)) (drop) :id 6)")
        let old5 = try rule("(rule (and (= proto udp) (= src_ip 10.9.9.9)) (drop) :id 5)")
        let new5 = try rule("(rule (and (= proto udp) (= src_ip 10.9.9.9)) (rate-limit 100) :id 5)")
        let file6 = try rule("(rule (and (= proto tcp) (= src_ip 10.6.6.6)) (drop) :id 6)")
        let new8 = try rule("(rule (and (= proto tcp) (= src_ip 10.8.8.8)) (drop) :id 8)")
        let m = StaticRulesMerge(table: [old5, runtime6], statics: [new5, file6, new8], previous: [5])
        #expect(Set(m.rules) == Set([new5, file6, new8]))
        #expect(m.added == [8] && Set(m.changed) == [5, 6] && m.displaced == [runtime6] && m.removed.isEmpty && m.kept == 0)
        #expect(m.summary.contains("the file's rule(s) 6 replaced operators' rule(s) of the same id"), "\(m.summary)")
    }

    /// No record of the file's last rules (its first use, or a version before the record):
    /// nothing counts as the file's, so nothing an operator added is taken out.
    @Test func withoutARecordNothingIsRemoved() throws {
        let runtime6 = try rule("(rule (and (= proto udp) (= src_ip 10.1.1.1)) (drop) :id 6)")
        let static5 = try rule("(rule (and (= proto udp) (= src_ip 10.9.9.9)) (drop) :id 5)")
        let m = StaticRulesMerge(table: [runtime6], statics: [static5], previous: nil)
        #expect(Set(m.rules) == Set([runtime6, static5]) && m.added == [5] && m.kept == 1)
        let again = StaticRulesMerge(table: m.rules, statics: [static5], previous: [5])
        #expect(again.rules == m.rules && again.summary.hasPrefix("static rules unchanged"), "\(again.summary)")
    }
}
