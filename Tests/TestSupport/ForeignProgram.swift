import CLibBPF
import Glibc

/// "Another holon version's program", for tests of what notices one on a filter's link: an XDP
/// program of two instructions (r0 = XDP_PASS; exit) that lets every frame through.
public enum ForeignProgram {
    /// Its fd (close it when done), or -1 with errno set. Loaded as libbpf loads `SEC("xdp")`
    /// (expected attach type BPF_XDP): a link takes only a program of its attach type.
    /// `multiBuffer`: loaded frags-aware, as a link on an interface of jumbo frames needs.
    public static func passAll(multiBuffer: Bool = false) -> Int32 {
        var mov = bpf_insn()
        mov.code = 0xB7   // BPF_ALU64 | BPF_MOV | BPF_K
        mov.imm = 2       // XDP_PASS
        var exit = bpf_insn()
        exit.code = 0x95  // BPF_JMP | BPF_EXIT
        var o = bpf_prog_load_opts()
        o.sz = MemoryLayout<bpf_prog_load_opts>.size
        o.expected_attach_type = BPF_XDP
        if multiBuffer { o.prog_flags = UInt32(BPF_F_XDP_HAS_FRAGS) }
        return [mov, exit].withUnsafeBufferPointer { bpf_prog_load(BPF_PROG_TYPE_XDP, "pass_all", "GPL", $0.baseAddress, 2, &o) }
    }

    /// Puts a pass-all program on the XDP link pinned in `pinDirectory`, as another version's
    /// `holon filter attach` would (same link, same maps): its fd (close it when done), or nil
    /// with errno set.
    public static func onLink(pinnedIn pinDirectory: String, multiBuffer: Bool = false) -> Int32? {
        let program = passAll(multiBuffer: multiBuffer)
        guard program >= 0 else { return nil }
        let link = bpf_obj_get("\(pinDirectory)/link")
        guard link >= 0, bpf_link_update(link, program, nil) == 0 else {
            if link >= 0 { close(link) }
            close(program)
            return nil
        }
        close(link)
        return program
    }
}
