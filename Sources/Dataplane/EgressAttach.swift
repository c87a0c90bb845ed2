import CLibBPF
import Foundation

/// The egress half of `flow-check`: program `holon_egress` (egress.bpf.h) on the protected
/// interface's tc egress hook, filling the `flows` map the XDP program reads. A tc filter, not
/// a link: it stays while the interface lives, like the pinned XDP link, and ``detach(ifindex:)``
/// removes exactly it (its handle and priority), leaving other tc filters alone.
enum EgressHook {
    static let programName = "holon_egress"
    /// "HL": ours among the interface's tc filters.
    static let handle: UInt32 = 0x484C
    static let priority: UInt32 = 1

    static func hook(ifindex: Int32) -> bpf_tc_hook {
        var h = bpf_tc_hook()
        // Up to the last field: libbpf refuses non-zero bytes past the fields it knows, and
        // Swift does not zero the C tail padding.
        h.sz = MemoryLayout<bpf_tc_hook>.offset(of: \.parent)! + MemoryLayout<UInt32>.size
        h.ifindex = ifindex
        h.attach_point = BPF_TC_EGRESS
        return h
    }

    static func opts() -> bpf_tc_opts {
        var o = bpf_tc_opts()
        o.sz = MemoryLayout<bpf_tc_opts>.offset(of: \.priority)! + MemoryLayout<UInt32>.size
        o.handle = handle
        o.priority = priority
        return o
    }

    /// Attaches the object's egress program to `ifindex` (call inside the interface's namespace),
    /// replacing an earlier one of ours.
    static func attach(object: OpaquePointer, ifindex: Int32, interface: String) throws(DataplaneError) {
        guard let prog = bpf_object__find_program_by_name(object, programName) else {
            throw .system("finding \(programName) in the BPF object", code: ENOENT)
        }
        var h = hook(ifindex: ifindex)
        // The clsact qdisc; -EEXIST when it is there (any attach after the first). libbpf then
        // prints the kernel's "Exclusivity flag on, cannot modify" although nothing failed, so
        // its printing is off for this one call; a real failure is thrown below, with errno.
        let printer = libbpf_set_print(nil)
        let created = bpf_tc_hook_create(&h)
        libbpf_set_print(printer)
        if created < 0, created != -EEXIST { throw .system("creating the tc egress hook on \(interface)", code: -created) }
        var o = opts()
        o.prog_fd = bpf_program__fd(prog)
        o.flags = UInt32(BPF_TC_F_REPLACE.rawValue)
        let r = bpf_tc_attach(&h, &o)
        if r < 0 { throw .system("attaching the tc egress program to \(interface)", code: -r) }
    }

    /// The id of our egress program on `ifindex` (call inside its namespace), nil when none is
    /// attached.
    static func programID(ifindex: Int32) -> UInt32? {
        var h = hook(ifindex: ifindex)
        var o = opts()
        // Without a clsact qdisc the kernel answers with a complaint libbpf would print; "none"
        // is the answer here, not an error.
        let printer = libbpf_set_print(nil)
        let r = bpf_tc_query(&h, &o)
        libbpf_set_print(printer)
        return r == 0 && o.prog_id != 0 ? o.prog_id : nil
    }

    /// Removes our egress filter from `ifindex` (call inside its namespace); absent is fine.
    static func detach(ifindex: Int32) {
        var h = hook(ifindex: ifindex)
        var o = opts()
        _ = bpf_tc_detach(&h, &o)
    }
}
