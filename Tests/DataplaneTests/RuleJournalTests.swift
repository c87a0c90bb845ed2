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
    func journaled(_ name: String, stateDirectory: String = "/tmp/holon-dtest-state") throws -> TestLab {
        let t = try TestLab(name, stateDirectory: stateDirectory)
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
        // A line cut short too (the power went before its newline reached the disk).
        let cut = try FileHandle(forWritingTo: URL(fileURLWithPath: RuleJournal.path(t.options)))
        cut.seekToEndOfFile()
        cut.write("+ (rule (and (= pro".data(using: .utf8)!)
        try cut.close()
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

    /// The state directory's disk fills up (a tmpfs of 256 KiB here; /run is memory). A change
    /// that cannot be written is refused and leaves nothing behind: half a journal line made
    /// every later reader refuse the journal, and half a table's text stayed in /run. Once
    /// there is room again, changes go on as before, without the refused rules (written into
    /// the inactive maps, which the next change then builds anew).
    @Test func aFullDiskRefusesAChangeAndLeavesNoPartOfIt() throws {
        let dir = "/tmp/holon-dtest-full-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try Tools.run("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir])
        defer {
            _ = try? Tools.run("umount", ["-l", dir])
            try? FileManager.default.removeItem(atPath: dir)
        }
        let t = try journaled("jful", stateDirectory: dir)
        defer { t.close() }
        let filler = dir + "/filler"
        func fill() {
            // Every page taken, then one given back: the next write gets that page and part
            // of what it wrote before the disk is full.
            let h = FileHandle(forWritingAtPath: filler) ?? { FileManager.default.createFile(atPath: filler, contents: nil); return FileHandle(forWritingAtPath: filler)! }()
            h.seekToEndOfFile()
            let page = Data(count: 4096)
            while (try? h.write(contentsOf: page)) != nil {}
            try? h.truncate(atOffset: max(0, h.offsetInFile - 8192))
            try? h.close()
        }
        func size(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1 }
        let many = (0..<300).map { Self.rule(UInt32(100 + $0), port: UInt64(1000 + $0)) }
        func frame(_ port: UInt16) -> [UInt8] { TableEditTests.frame(port: port) }

        // In place: the journal.
        let journalSize = size(RuleJournal.path(t.options))
        fill()
        #expect(throws: DataplaneError.self) { try t.dataplane.add(many) }
        #expect(size(RuleJournal.path(t.options)) == journalSize, "the journal as it was")
        #expect(try fresh(t) == [a, b])
        #expect(t.dataplane.rules == [a, b])
        #expect(try t.dataplane.testRun(frame(1000)).action == .pass)
        try FileManager.default.removeItem(atPath: filler)
        try t.dataplane.add([c])
        #expect(try fresh(t) == [a, b, c])
        #expect(t.dataplane.rules == [a, b, c])
        #expect(try t.dataplane.testRun(frame(1000)).action == .pass, "a refused rule went live")
        #expect(try t.dataplane.testRun(frame(11)).action == .drop)

        // Whole: the table's text.
        fill()
        #expect(throws: DataplaneError.self) { try t.dataplane.install(many, rebuild: true) }
        #expect(!FileManager.default.fileExists(atPath: t.options.stateFile + ".tmp"), "no part of the text left")
        #expect(try fresh(t) == [a, b, c])
        #expect(try t.dataplane.testRun(frame(1000)).action == .pass)
        try FileManager.default.removeItem(atPath: filler)
        try t.dataplane.install([a], rebuild: true)
        #expect(try fresh(t) == [a])
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
