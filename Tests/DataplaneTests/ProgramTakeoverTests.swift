import CLibBPF
import Foundation
@testable import Dataplane
import Rules
import Testing
import TestSupport
import Lab

/// A filter whose maps are all this version's can still run another version's program: a
/// version that changes only the program (a faster parser, a mended classifier) keeps every map
/// name and size. `filter attach` looked at the maps alone and left such a program running
/// (stop 28: the program id stayed 16087 through an upgrade). It now compares the programs'
/// kernel tags and takes the link over when they differ.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: namespaces, veth, XDP"))
struct ProgramTakeoverTests {
    @Test func attachReplacesAnotherVersionsProgramOnTheSameMaps() throws {
        let t = try TestLab("upprog")
        defer { t.close() }
        let rule = Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop)
        try t.dataplane.install([rule])
        #expect(try Dataplane.outdatedReason(t.options) == nil, "a filter this version attached is this version's")

        // "Another version": a program that passes everything, put on the filter's link.
        let other = try #require(ForeignProgram.onLink(pinnedIn: t.options.pinDirectory), "another program on the link: errno \(errno)")
        defer { close(other) }
        t.sender.send((0..<30).map { Frames.udp(sequence: $0) })
        usleep(200_000)
        #expect(t.dataplane.counters(forRule: 1) == RuleCounters(hits: 0, drops: 0), "the other program passes all")
        // Told from the tags the attach recorded (what `rules add` and the rest ask, cheaply),
        // and the same from a fresh load when nothing is recorded.
        #expect(ProgramTagCache.mine(t.options) != nil, "attach recorded this version's tags")
        let why = try #require(try Dataplane.outdatedReason(t.options))
        #expect(why.contains("another version's XDP program"), "\(why)")
        #expect(try Dataplane.status(t.options).outdated == why)
        try FileManager.default.removeItem(atPath: ProgramTagCache.path(t.options))
        #expect(try Dataplane.outdatedReason(t.options) == why)
        #expect(ProgramTagCache.mine(t.options) != nil, "the load recorded them again")

        let (dp, _) = try Dataplane.attach(t.options)
        let took = try #require(dp.takeover, "attach took the link over")
        #expect(took.previousProgram == ProgramIdentity.id(fd: other))
        #expect(took.program != nil && ProgramIdentity.running(t.options).xdpID == took.program)
        #expect(try Dataplane.outdatedReason(t.options) == nil)
        #expect(dp.rules == [rule], "rules kept")
        let before = try dp.stats().packets
        t.sender.send((0..<40).map { Frames.udp(sequence: $0) })
        let deadline = Date().addingTimeInterval(3)
        while try dp.stats().packets < before + 40, Date() < deadline { usleep(10_000) }
        #expect(dp.counters(forRule: 1) == RuleCounters(hits: 40, drops: 40), "this version's program enforces the rule")

        // Attaching again replaces nothing.
        let (again, _) = try Dataplane.attach(t.options)
        #expect(again.takeover == nil)
        #expect(ProgramIdentity.running(t.options).xdpID == took.program)

        // The egress half gone (every flow-check rule would then drop all): attach puts it back.
        try inNetworkNamespace(t.options.namespace) { () throws(DataplaneError) in
            EgressHook.detach(ifindex: Int32(if_nametoindex(t.options.interface)))
        }
        #expect(try Dataplane.outdatedReason(t.options)?.contains("egress") == true)
        let (third, _) = try Dataplane.attach(t.options)
        #expect(third.takeover?.reason.contains("egress") == true)
        #expect(try Dataplane.outdatedReason(t.options) == nil)
    }

    /// A takeover killed after handing the link over and before writing the table again left a
    /// program and a table of two versions, which the next `holon` took for this version's
    /// (stop 29's note). The takeover is now recorded first and the record removed last: what
    /// finds it refuses to write tables, and the next attach finishes the takeover.
    @Test func aTakeoverCutShortIsFinishedByTheNextAttach() throws {
        let t = try TestLab("cutsh")
        defer { t.close() }
        let rule = Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop)
        try t.dataplane.install([rule])
        let program = ProgramIdentity.running(t.options).xdpID
        // Killed between the record and its removal: what the record says, nothing else.
        try Dataplane.recordTakeover(t.options, reason: "a test")
        do {
            _ = try Dataplane.open(t.options)
            Issue.record("opened a filter whose takeover was cut short")
        } catch {
            guard case .takeoverCutShort = error else { Issue.record("\(error)"); return }
        }
        #expect(try Dataplane.outdatedReason(t.options)?.contains("cut short") == true)

        let (dp, _) = try Dataplane.attach(t.options)
        #expect(dp.takeover?.reason.contains("cut short") == true, "attach finished it")
        #expect(ProgramIdentity.running(t.options).xdpID != program, "on this version's program, loaded again")
        #expect(!FileManager.default.fileExists(atPath: Dataplane.takeoverRecord(t.options)))
        #expect(try Dataplane.open(t.options).rules == [rule], "rules kept, the filter opens again")
        t.sender.send((0..<20).map { Frames.udp(sequence: $0) })
        _ = try t.settle(packets: 20)
        #expect(dp.counters(forRule: 1) == RuleCounters(hits: 20, drops: 20))

        // Detaching forgets it too: the pins it was about are gone.
        try Dataplane.recordTakeover(t.options, reason: "a test")
        try Dataplane.detach(t.options, force: true)
        #expect(!FileManager.default.fileExists(atPath: Dataplane.takeoverRecord(t.options)))
    }
}

/// The commands that only open a filter (`rules add`, `rules list`, `filter set`, …) said
/// nothing when another version's program ran it (stop 29's note): they now warn, on one line,
/// naming the command that takes it over, from the tags recorded at attach (no object load).
/// `filter status` and the refusal of a takeover cut short name the filter's own flags too.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot && FileManager.default.isExecutableFile(atPath: Tools.holon),
                                         "needs root and the built holon"))
struct OutdatedWarningTests {
    @Test func commandsThatOpenTheFilterSayItIsAnotherVersions() throws {
        let lab = Lab(.scratch(prefix: "holon-dtest", tag: "hd\(getpid() % 10000)warn"))
        try? lab.down()
        try lab.up()
        let target = ["--interface", lab.topology.filterInterface, "--netns", lab.topology.filterNamespace]
        let options = DataplaneOptions.protecting(interface: lab.topology.filterInterface, namespace: lab.topology.filterNamespace)
        defer {
            _ = try? Self.holon(["filter", "detach", "--force", "--forget-rules"] + target)
            try? lab.down()
        }
        #expect(try Self.holon(["filter", "attach"] + target).status == 0)
        let add = try Self.holon(["rules", "add", "(rule (and (= proto udp) (= dst_port 9)) (drop) :id 1)"] + target)
        #expect(add.status == 0 && !add.err.contains("warning"), "this version's filter: \(add.err)")

        let other = try #require(ForeignProgram.onLink(pinnedIn: options.pinDirectory), "another program on the link: errno \(errno)")
        defer { close(other) }
        for argv in [["rules", "list"], ["rules", "add", "(rule (and (= proto tcp) (= dst_port 22)) (drop) :id 2)"], ["filter", "set", "--observe", "off"]] {
            let r = try Self.holon(argv + target)
            #expect(r.status == 0, "\(argv): \(r.err)")
            let warning = r.err.split(separator: "\n").filter { $0.contains("does not run this version's program") }
            #expect(warning.count == 1 && warning[0].contains("holon filter attach \(target.joined(separator: " "))"), "\(argv): \(r.err)")
        }
        let status = try Self.holon(["filter", "status"] + target)
        #expect(status.out.contains("PROGRAM:") && status.out.contains("`holon filter attach \(target.joined(separator: " "))` takes it over"), "\(status.out)")
        // A takeover cut short: refused, naming the command that finishes it for this filter
        // (it named the lab's).
        try Data("test\n".utf8).write(to: URL(fileURLWithPath: Dataplane.takeoverRecord(options)))
        let refused = try Self.holon(["rules", "list"] + target)
        unlink(Dataplane.takeoverRecord(options))
        #expect(refused.status != 0 && refused.err.contains("cut short") && refused.err.contains("`holon filter attach \(target.joined(separator: " "))` again"),
                "\(refused.err)")
        let took = try Self.holon(["filter", "attach"] + target)
        #expect(took.out.contains("took over from program id"), "\(took.out)")
        let list = try Self.holon(["rules", "list"] + target)
        #expect(list.status == 0 && list.err.isEmpty && list.out.contains(":id 2"), "taken over, said nothing more: \(list.err)")
    }

    /// The interface deleted under a pinned filter: `rules add` and `rules del` changed its
    /// table and said "the filter now enforces" it, while nothing did.
    @Test func aChangeToAFilterWhoseInterfaceWentIsNotCalledEnforced() throws {
        let lab = Lab(.scratch(prefix: "holon-dtest", tag: "hd\(getpid() % 10000)gone"))
        try? lab.down()
        try lab.up()
        let target = ["--interface", lab.topology.filterInterface, "--netns", lab.topology.filterNamespace]
        defer {
            _ = try? Self.holon(["filter", "detach", "--force", "--forget-rules"] + target)
            try? lab.down()
        }
        #expect(try Self.holon(["filter", "attach"] + target).status == 0)
        let add = try Self.holon(["rules", "add", "(rule (and (= proto udp) (= dst_port 9)) (drop) :id 1)"] + target)
        #expect(add.status == 0 && add.out.contains("the filter now enforces 1 rule") && add.err.isEmpty, "\(add)")
        _ = try Tools.run("ip", ["-n", lab.topology.filterNamespace, "link", "del", lab.topology.filterInterface])
        for argv in [["rules", "add", "(rule (and (= proto tcp) (= dst_port 22)) (drop) :id 2)"], ["rules", "del", "1"],
                     ["filter", "allow", "192.0.2.0/24"], ["filter", "set", "--observe", "on"], ["rules", "list"]] {
            let r = try Self.holon(argv + target)
            #expect(r.status == 0 && !r.out.contains("now enforces"), "\(argv): \(r.out)")
            #expect(argv[0] == "filter" || argv[1] == "list" || r.out.contains("the table, not enforced, holds"), "\(argv): \(r.out)")
            #expect(r.err.contains("is not attached to \(lab.topology.filterInterface)") && r.err.contains("nothing enforces it"), "\(argv): \(r.err)")
        }
        let json = try Self.holon(["rules", "add", "--json", "(rule (and (= proto tcp) (= dst_port 23)) (drop) :id 3)"] + target)
        #expect(json.out.contains("\"enforced\":false"), "\(json.out)")
    }

    static func holon(_ argv: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Tools.holon)
        p.arguments = argv
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, o, e)
    }
}

/// Which difference makes a live filter another version's, without root: the reason names the
/// first that holds, and a filter that differs in nothing is left alone.
struct ProgramTakeoverReasonTests {
    let mine = ProgramIdentity(xdp: 0x1111, egress: 0x2222)

    @Test func theSameProgramsOnAllTheMapsAreThisVersion() {
        #expect(Dataplane.takeoverReason(running: mine, mine: mine, added: [], cutShort: false) == nil)
    }

    @Test func eachDifferenceIsNamed() {
        let reason = { (running: ProgramIdentity, added: [String], cutShort: Bool) in
            Dataplane.takeoverReason(running: running, mine: mine, added: added, cutShort: cutShort) ?? "none"
        }
        #expect(reason(mine, ["key_buckets_out"], false).contains("without key_buckets_out"))
        #expect(reason(mine, [], true).contains("cut short"))
        #expect(reason(ProgramIdentity(xdp: 0x3333, egress: 0x2222), [], false).contains("another version's XDP program"))
        #expect(reason(ProgramIdentity(xdp: nil, egress: 0x2222), [], false).contains("could not be read"))
        #expect(reason(ProgramIdentity(xdp: 0x1111, egress: nil), [], false).contains("egress program (flow-check's half) was missing"))
        #expect(reason(ProgramIdentity(xdp: 0x1111, egress: 0x4444), [], false).contains("another version's tc egress"))
    }

    @Test func tagsPrintAsTheKernelShowsThem() {
        // bpftool prints the tag's 8 bytes in memory order; the reason does too.
        // The tag holds the bytes 90 4b ad 16 16 dc 7f ef, loaded as one native integer.
        let tag = [UInt8]([0x90, 0x4b, 0xad, 0x16, 0x16, 0xdc, 0x7f, 0xef]).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let r = Dataplane.takeoverReason(running: ProgramIdentity(xdp: tag, egress: 0x2222), mine: mine, added: [], cutShort: false)
        #expect(r?.contains("tag 904bad1616dc7fef") == true, "\(r ?? "")")
    }
}

/// The tags a load recorded, read back by commands that only open the filter: keyed by this
/// object and this boot, one entry per key, the newest few kept, anything unreadable ignored.
struct ProgramTagCacheTests {
    func options() -> DataplaneOptions {
        DataplaneOptions(pinDirectory: "/nonexistent", stateDirectory: NSTemporaryDirectory() + "holon-tags-\(UUID().uuidString)")
    }

    @Test func aRecordIsReadBackAndReplaced() throws {
        let o = options()
        defer { try? FileManager.default.removeItem(atPath: o.stateDirectory) }
        #expect(ProgramTagCache.mine(o) == nil, "nothing recorded")
        let tags = ProgramIdentity(xdp: 0x0123_4567_89AB_CDEF, egress: nil)
        ProgramTagCache.record(tags, o)
        #expect(ProgramTagCache.mine(o) == tags)
        let text = try String(contentsOfFile: ProgramTagCache.path(o), encoding: .utf8)
        #expect(text.hasSuffix(" \(ProgramIdentity.hex(tags.xdp!)) -\n"), "as bpftool prints it: \(text)")
        let newer = ProgramIdentity(xdp: 7, egress: 8)
        ProgramTagCache.record(newer, o)
        #expect(ProgramTagCache.mine(o) == newer)
        #expect(try String(contentsOfFile: ProgramTagCache.path(o), encoding: .utf8).split(separator: "\n").count == 1, "one line per key")
    }

    @Test func otherKeysAndDamagedLinesAreNotThisVersions() throws {
        let o = options()
        defer { try? FileManager.default.removeItem(atPath: o.stateDirectory) }
        let key = try #require(ProgramTagCache.key)
        try FileManager.default.createDirectory(atPath: o.stateDirectory, withIntermediateDirectories: true)
        let others = (0..<20).map { "another-boot-\($0) 0000000000000001 -" }
        let damaged = ["\(key) nothex -", "\(key) 00000000000000", "\(key)"]
        try (others + damaged).joined(separator: "\n").write(toFile: ProgramTagCache.path(o), atomically: true, encoding: .utf8)
        #expect(ProgramTagCache.mine(o) == nil)
        ProgramTagCache.record(ProgramIdentity(xdp: 9, egress: 10), o)
        let lines = try String(contentsOfFile: ProgramTagCache.path(o), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == ProgramTagCache.capacity && lines.last?.hasPrefix(key + " ") == true, "the newest kept: \(lines)")
        #expect(ProgramTagCache.mine(o) == ProgramIdentity(xdp: 9, egress: 10))
    }

    @Test func tagTextRoundTrips() {
        for tag: UInt64 in [0, 1, 0x904B_AD16_16DC_7FEF, .max] {
            #expect(ProgramIdentity.tag(hex: Substring(ProgramIdentity.hex(tag))) == tag)
        }
        #expect(ProgramIdentity.tag(hex: "-") == nil)
    }
}
