import Dataplane
import Foundation
import Rules
import TestSupport
import Testing

/// Issue 10 §3–4: the maps are the truth. A state file that does not describe the filter's
/// table is an error naming the way back, never an empty table; operators' rules survive a
/// detach and attach; a detach under a running sidecar is refused.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: namespaces, veth, XDP"))
struct RuleStateTests {
    let a = Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop, priority: 10)
    let b = Rule(id: 2, match: [.equals(.proto, 17), .equals(.dstPort, 10)], action: .drop, priority: 10)
    let c = Rule(id: 3, match: [.equals(.proto, 17), .equals(.dstPort, 11)], action: .drop, priority: 10)

    /// Deleted state file, then `rules add C`: A and B used to vanish silently.
    @Test func missingStateFileIsAnErrorNotAnEmptyTable() throws {
        let t = try TestLab("miss")
        defer { t.close() }
        try t.dataplane.add([a, b])
        try FileManager.default.removeItem(atPath: t.options.stateFile)
        let other = try Dataplane.open(t.options)
        #expect(throws: DataplaneError.self) { try other.add([c]) }
        #expect(throws: DataplaneError.self) { try other.verifiedRules() }
        #expect("\(other.stateProblem!)".contains("is missing"))
        #expect("\(other.stateProblem!)".contains("--replace-all"))
        #expect(try other.settings().rules == 2, "the filter still enforces A and B")
        // The way back: a known table, whatever the state says.
        try other.replace(with: [a, b, c])
        #expect(try Dataplane.open(t.options).verifiedRules() == [a, b, c])
    }

    @Test func garbageOrHandEditedStateIsRefused() throws {
        let t = try TestLab("garb")
        defer { t.close() }
        try t.dataplane.add([a, b])
        let garbage = Data((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: t.options.stateFile))
        #expect(throws: DataplaneError.self) { try Dataplane.open(t.options).verifiedRules() }
        #expect(throws: DataplaneError.self) { try Dataplane.open(t.options).add([c]) }

        try t.dataplane.replace(with: [a, b])
        // A rule edited by hand: the file now lists something the filter does not enforce.
        let text = try String(contentsOfFile: t.options.stateFile, encoding: .utf8)
        try text.replacingOccurrences(of: "dst_port 10", with: "dst_port 12").write(toFile: t.options.stateFile, atomically: true, encoding: .utf8)
        let edited = try Dataplane.open(t.options)
        #expect(throws: DataplaneError.self) { try edited.verifiedRules() }
        #expect("\(edited.stateProblem!)".contains("not the table in the filter"))
    }

    /// Issue 12 §3: a handle that installed the table the filter still enforces changes it
    /// without parsing the state file again (100k rules of text); a change made meanwhile by
    /// another process shows in the filter's fingerprint, and then the file is read.
    @Test func theStateFileIsReadOnlyWhenTheFilterChanged() throws {
        let t = try TestLab("known")
        defer { t.close() }
        try t.dataplane.add([a, b])
        // Unreadable now, but this handle knows the table the filter enforces: not needed.
        try FileManager.default.removeItem(atPath: t.options.stateFile)
        try t.dataplane.add([c])
        #expect(try Dataplane.open(t.options).verifiedRules() == [a, b, c], "written anew by the install")
        // Another process deletes a rule: this handle must see it, not reinstall from memory.
        _ = try Dataplane.open(t.options).delete(ids: [2])
        let d = Rule(id: 4, match: [.equals(.proto, 17), .equals(.dstPort, 13)], action: .drop, priority: 10)
        try t.dataplane.add([d])
        #expect(try Dataplane.open(t.options).verifiedRules() == [a, c, d])
        // A replacement hands over the table it replaces the same way: from what this handle
        // knows while the filter still shows it (the file, gone, is not read), else read anew.
        try FileManager.default.removeItem(atPath: t.options.stateFile)
        var replaced: [Rule]?
        try t.dataplane.replace(with: [a, b]) { replaced = $0 }
        #expect(replaced == [a, c, d])
        _ = try Dataplane.open(t.options).delete(ids: [2])
        try t.dataplane.replace(with: [c]) { replaced = $0 }
        #expect(replaced == [a])
    }

    /// An install that died after the flip but before the rename: the new text is beside the
    /// old, and it is the one the filter enforces.
    @Test func aCrashBetweenFlipAndRenameRecovers() throws {
        let t = try TestLab("crash")
        defer { t.close() }
        try t.dataplane.add([a])
        let old = try String(contentsOfFile: t.options.stateFile, encoding: .utf8)
        // Whole: a change made in place goes to the journal (RuleJournalTests), not to a new text.
        try t.dataplane.install([a, b], rebuild: true)
        let new = try String(contentsOfFile: t.options.stateFile, encoding: .utf8)
        try new.write(toFile: t.options.stateFile + ".tmp", atomically: true, encoding: .utf8)
        try old.write(toFile: t.options.stateFile, atomically: true, encoding: .utf8)
        #expect(try Dataplane.open(t.options).verifiedRules() == [a, b])
    }

    @Test func operatorRulesSurviveDetachAndAttach() throws {
        let t = try TestLab("surv")
        defer { t.close() }
        let expired = Rule(id: 1_000_000_001, match: [.equals(.proto, 6)], action: .drop, priority: 100,
                           ttlSeconds: 1, createdAt: 1_000_000_000)
        try t.dataplane.add([a, b, expired])
        try Dataplane.detach(t.options)
        let (again, _) = try Dataplane.attach(t.options)
        #expect(try again.verifiedRules() == [a, b], "operators' rules back, the expired sidecar rule not")
        #expect(try again.settings().rules == 2)
        try Dataplane.detach(t.options, forgetRules: true)
        let (fresh, _) = try Dataplane.attach(t.options)
        #expect(try fresh.verifiedRules().isEmpty)
    }

    /// A handle opened before a detach wrote into the detached filter's maps, and `rules load`
    /// then said "the filter now enforces N rules": nothing did.
    @Test func aChangeToADetachedFilterIsRefused() throws {
        let t = try TestLab("gone")
        defer { t.close() }
        try t.dataplane.add([a])
        let handle = try Dataplane.open(t.options)
        try Dataplane.detach(t.options)
        for change in [{ try handle.add([b]) }, { try handle.replace(with: [b, c]) }, { try handle.update { $0 + [c] } }] {
            do {
                _ = try change()
                Issue.record("a change to a detached filter succeeded")
            } catch let e as DataplaneError {
                guard case .detachedMeanwhile(let dir, written: false) = e else { Issue.record("unexpected error: \(e)"); continue }
                #expect(dir == t.options.pinDirectory)
                #expect(e.description.contains("nothing was changed"))
            }
        }
        let (again, _) = try Dataplane.attach(t.options)
        #expect(try again.verifiedRules() == [a], "the refused changes left the saved table as the detach left it")
    }

    /// `holon filter detach` during a `rules load` of a large table: the load wrote on into the
    /// maps of a filter no longer attached, and reported the table enforced. A detach now waits
    /// for the change in progress, which is then true when reported.
    @Test func detachWaitsForAChangeInProgress() throws {
        let t = try TestLab("wait")
        defer { t.close() }
        let many = (0..<100_000).map { i in
            Rule(id: UInt32(10 + i), match: [.equals(.srcIP, 0x0B00_0000 + UInt64(i))], action: .drop, priority: 10)
        }
        let handle = try Dataplane.open(t.options)
        nonisolated(unsafe) var loaded: UInt64?, outcome: Error?
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do {
                try handle.update { _ in many }
                loaded = DispatchTime.now().uptimeNanoseconds
            } catch { outcome = error }
            done.signal()
        }
        usleep(30_000)   // the load holds the lock by now; it takes far longer than this
        try Dataplane.detach(t.options)
        let detached = DispatchTime.now().uptimeNanoseconds
        done.wait()
        if let loaded {
            #expect(loaded <= detached, "the load reported its table after the detach had removed the filter")
        } else if let e = outcome as? DataplaneError, case .detachedMeanwhile = e {
            // Refused: the detach came first after all. Also true.
        } else {
            Issue.record("the load failed: \(String(describing: outcome))")
        }
        #expect(!handle.stillAttached())
    }

    @Test func detachIsRefusedWhileASidecarHoldsTheFilter() throws {
        let t = try TestLab("lease")
        defer { t.close() }
        var lease: FilterLease? = try FilterLease.acquire(t.options)
        #expect(FilterLease.holder(t.options) == getpid())
        #expect(throws: DataplaneError.self) { try FilterLease.acquire(t.options) }
        #expect(throws: DataplaneError.self) { try Dataplane.detach(t.options) }
        #expect(try Dataplane.status(t.options).attached)
        #expect(t.dataplane.stillAttached())
        try Dataplane.detach(t.options, force: true)
        #expect(!t.dataplane.stillAttached(), "the sidecar's handle sees the filter gone")
        withExtendedLifetime(lease) {}
        lease = nil
        #expect(FilterLease.holder(t.options) == nil)
    }
}
