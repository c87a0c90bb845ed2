@testable import Dataplane
import Foundation
import Rules
import TestSupport
import Testing

/// A change made in place writes its lines to the state file's journal instead of the whole
/// table's text: `holon run`'s incident rule took ~200 ms to go into a 100k-rule filter, most
/// of it printing and syncing 8.5 MB. What a later process reads must still be what the filter
/// enforces, whatever crash came between the journal and the flip.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: namespaces, veth, XDP"))
struct RuleJournalTests {
    static func rule(_ id: UInt32, port: UInt64, _ action: Action = .drop) -> Rule {
        Rule(id: id, match: [.equals(.proto, 17), .equals(.dstPort, port)], action: action, priority: 10)
    }
    let a = rule(1, port: 9), b = rule(2, port: 10), c = rule(3, port: 11)

    func journal(_ t: TestLab) -> String? { try? String(contentsOfFile: RuleJournal.path(t.options), encoding: .utf8) }
    func base(_ t: TestLab) throws -> String { try String(contentsOfFile: t.options.stateFile, encoding: .utf8) }
    func fresh(_ t: TestLab) throws -> [Rule] { try Dataplane.open(t.options).verifiedRules() }

    /// A lab whose filter holds `a`, written whole, then `b`, added in place (in the journal).
    func journaled(_ name: String) throws -> TestLab {
        let t = try TestLab(name)
        do {
            try t.dataplane.add([a])
            try t.dataplane.prime()
            try t.dataplane.add([b])
        } catch {
            t.close()
            throw error
        }
        return t
    }

    @Test func changesInPlaceAreJournaledAndReadBack() throws {
        let t = try TestLab("jrnl")
        defer { t.close() }
        try t.dataplane.add([a])
        try t.dataplane.prime()
        #expect(journal(t) == nil, "a whole write leaves no journal")
        try t.dataplane.add([b, c])
        let text = try base(t)
        #expect(journal(t) != nil && !text.contains("dst_port 10"), "the change is in the journal, the text untouched")
        #expect(try fresh(t) == [a, b, c])
        _ = try t.dataplane.delete(ids: [1])
        let passing = Self.rule(2, port: 10, .pass)
        try t.dataplane.update { $0.map { $0.id == 2 ? passing : $0 } }
        #expect(try fresh(t) == [passing, c], "removed, changed and added rules replayed in rank order")
        #expect(try t.dataplane.settings().rules == 2)

        // A whole write ends the journal.
        try t.dataplane.install([a], rebuild: true)
        #expect(journal(t) == nil)
        #expect(try fresh(t) == [a])
    }

    /// A crash after the journal was synced, before the flip: the filter enforces the table
    /// without that change, and so does every reader; the next change writes the table whole.
    @Test func aChangeNeverFlippedToIsNotRead() throws {
        let t = try journaled("jflip")
        defer { t.close() }
        let fp = try t.dataplane.fingerprint()
        let dangling = "+ \(c.text)\n= \(fp.generation ^ 1) 3 123abc \(RuleJournal.line(fp))\n"
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: RuleJournal.path(t.options)))
        h.seekToEndOfFile()
        h.write(dangling.data(using: .utf8)!)
        try h.close()
        #expect(try fresh(t) == [a, b], "the change the filter never took is not read")

        let d = Self.rule(4, port: 12)
        try t.dataplane.add([d])
        #expect(journal(t) == nil, "appended after a change never taken, the journal would lie: written whole")
        #expect(try fresh(t) == [a, b, d])
        let text = try base(t)
        #expect(!text.contains("dst_port 11"))
    }

    /// A crash while the group was being appended: lines without their fingerprint are no change.
    @Test func aGroupCutShortIsNoChange() throws {
        let t = try journaled("jcut")
        defer { t.close() }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: RuleJournal.path(t.options)))
        h.seekToEndOfFile()
        h.write("+ \(c.text)\n".data(using: .utf8)!)
        try h.close()
        #expect(try fresh(t) == [a, b])
        try "- garbage\n".write(toFile: RuleJournal.path(t.options), atomically: true, encoding: .utf8)
        let e = try #require(throws: DataplaneError.self) { try fresh(t) }
        #expect("\(e)".contains("journal"), "\(e)")
    }

    /// `holon rules add` beside `holon run` rewrites the table whole: the loop's handle then
    /// knows neither generation, and readies itself again in the background.
    @Test func aHandleKeepsReadyAfterAnotherProcessesChange() throws {
        let t = try TestLab("jready")
        defer { t.close() }
        try t.dataplane.add([a])
        try t.dataplane.prime()
        #expect(t.dataplane.readyForChanges)
        try Dataplane.open(t.options).add([b])
        #expect(!t.dataplane.readyForChanges, "another process wrote both generations")
        t.dataplane.keepReady()
        let deadline = Date().addingTimeInterval(20)
        while !t.dataplane.readyForChanges && Date() < deadline { usleep(20_000) }
        #expect(t.dataplane.readyForChanges)
        try t.dataplane.add([c])
        #expect(journal(t) != nil, "the change went in place")
        #expect(try fresh(t) == [a, b, c])
    }

    /// Detached with its rules kept, the journal's changes come back with the attach.
    @Test func detachAndAttachKeepTheJournalsChanges() throws {
        let t = try journaled("jdet")
        defer { t.close() }
        try Dataplane.detach(t.options)
        let (again, _) = try Dataplane.attach(t.options)
        #expect(try again.verifiedRules() == [a, b])
        try again.add([c])
        try Dataplane.detach(t.options, forgetRules: true)
        #expect(journal(t) == nil && !FileManager.default.fileExists(atPath: t.options.stateFile))
        let (empty, _) = try Dataplane.attach(t.options)
        #expect(try empty.verifiedRules().isEmpty)
    }
}

/// The replay alone: groups applied to a table in one pass, in rank order.
@Suite struct RuleJournalReplayTests {
    @Test func replayKeepsRankOrder() {
        func r(_ id: UInt32, _ priority: Int32, _ action: Action = .drop) -> Rule {
            Rule(id: id, match: [.equals(.dstPort, UInt64(id))], action: action, priority: priority)
        }
        let fp = TableFingerprint(generation: 0, rules: 0, digest: 0)
        let base = [r(1, 50), r(2, 10), r(3, 10)]
        let groups = [
            RuleJournal.Group(removed: [r(2, 10)], added: [r(4, 20), r(2, 10, .pass)], after: fp, before: fp),
            RuleJournal.Group(removed: [r(4, 20), r(1, 50)], added: [r(5, 100)], after: fp, before: fp),
        ]
        #expect(RuleJournal.replay(base, groups[...]) == [r(5, 100), r(2, 10, .pass), r(3, 10)])
        #expect(RuleJournal.replay(base, groups.dropLast()) == [r(1, 50), r(4, 20), r(2, 10, .pass), r(3, 10)])
        #expect(RuleJournal.replay(base, []) == base)
    }
}
