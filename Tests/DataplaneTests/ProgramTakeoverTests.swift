import CLibBPF
import Foundation
@testable import Dataplane
import Rules
import Testing

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
        let other = try Self.passAll()
        defer { close(other) }
        let link = bpf_obj_get("\(t.options.pinDirectory)/link")
        try #require(link >= 0)
        defer { close(link) }
        try #require(bpf_link_update(link, other, nil) == 0)
        t.sender.send((0..<30).map { Frames.udp(sequence: $0) })
        usleep(200_000)
        #expect(t.dataplane.counters(forRule: 1) == RuleCounters(hits: 0, drops: 0), "the other program passes all")
        let why = try #require(try Dataplane.outdatedReason(t.options))
        #expect(why.contains("another version's XDP program"), "\(why)")
        #expect(try Dataplane.status(t.options).outdated == why)

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

    /// An XDP program of two instructions: r0 = XDP_PASS; exit.
    static func passAll() throws -> Int32 {
        var mov = bpf_insn()
        mov.code = 0xB7   // BPF_ALU64 | BPF_MOV | BPF_K
        mov.imm = 2       // XDP_PASS
        var exit = bpf_insn()
        exit.code = 0x95  // BPF_JMP | BPF_EXIT
        let insns = [mov, exit]
        // A link takes only a program of its attach type (libbpf loads `SEC("xdp")` as BPF_XDP).
        var o = bpf_prog_load_opts()
        o.sz = MemoryLayout<bpf_prog_load_opts>.size
        o.expected_attach_type = BPF_XDP
        let fd = insns.withUnsafeBufferPointer { bpf_prog_load(BPF_PROG_TYPE_XDP, "pass_all", "GPL", $0.baseAddress, 2, &o) }
        try #require(fd >= 0, "loading a pass-all program: errno \(errno)")
        return fd
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
