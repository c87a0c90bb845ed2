import CLibBPF
import Foundation

/// Which programs a filter runs, told by the kernel's program tag: a hash of the instructions
/// as loaded, with map references zeroed, so two loads of one object on one kernel share it and
/// a program of another version has another. The pinned maps say nothing of this: a version
/// whose maps keep their names and sizes (a faster parser, a mended classifier) would go on
/// running the program of before, silently, were attach to look at the maps alone.
struct ProgramIdentity: Equatable {
    /// The XDP program's tag, nil when no program is there.
    var xdp: UInt64?
    /// The tc egress program's tag (flow-check's half), nil when none of ours is attached.
    var egress: UInt64?

    /// The programs of a loaded object (this version's).
    init(object: OpaquePointer) {
        xdp = bpf_object__find_program_by_name(object, EmbeddedObject.programName).flatMap { Self.tag(fd: bpf_program__fd($0)) }
        egress = bpf_object__find_program_by_name(object, EgressHook.programName).flatMap { Self.tag(fd: bpf_program__fd($0)) }
    }

    /// The programs running on the filter's interface now: the pinned link's program and our
    /// tc egress filter.
    static func running(_ options: DataplaneOptions) -> (identity: ProgramIdentity, xdpID: UInt32?) {
        var xdpID: UInt32?
        let link = bpf_obj_get("\(options.pinDirectory)/link")
        if link >= 0 {
            var info = bpf_link_info()
            var len = UInt32(MemoryLayout<bpf_link_info>.size)
            if bpf_obj_get_info_by_fd(link, &info, &len) == 0, info.prog_id != 0 { xdpID = info.prog_id }
            close(link)
        }
        let egressID = try? inNetworkNamespace(options.namespace) { () throws(DataplaneError) -> UInt32? in
            let ifindex = if_nametoindex(options.interface)
            return ifindex == 0 ? nil : EgressHook.programID(ifindex: Int32(ifindex))
        }
        return (ProgramIdentity(xdp: xdpID.flatMap(tag(id:)), egress: (egressID ?? nil).flatMap(tag(id:))), xdpID)
    }

    init(xdp: UInt64?, egress: UInt64?) {
        self.xdp = xdp
        self.egress = egress
    }

    static func tag(id: UInt32) -> UInt64? {
        let fd = bpf_prog_get_fd_by_id(id)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return tag(fd: fd)
    }

    static func tag(fd: Int32) -> UInt64? {
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard fd >= 0, bpf_obj_get_info_by_fd(fd, &info, &len) == 0 else { return nil }
        return withUnsafeBytes(of: info.tag) { $0.loadUnaligned(as: UInt64.self) }
    }

    /// A tag as bpftool prints it: its 8 bytes in order.
    static func hex(_ tag: UInt64) -> String {
        withUnsafeBytes(of: tag) { $0.map { String(format: "%02x", $0) }.joined() }
    }

    /// A tag back from ``hex(_:)``'s text; nil unless 16 hex digits.
    static func tag(hex: Substring) -> UInt64? {
        guard hex.count == 16, let v = UInt64(hex, radix: 16) else { return nil }
        return UInt64(bigEndian: v)   // the first byte printed is the first in memory
    }

    static func id(fd: Int32) -> UInt32? {
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : nil
    }
}

/// What `holon filter attach` replaced on a live filter: the programs of another version (or a
/// missing egress half) gave way to this version's, on the same link and maps.
public struct ProgramTakeover: Sendable, Hashable, Codable {
    /// The XDP program that ran before (its kernel id), nil when it could not be read.
    public var previousProgram: UInt32?
    /// This version's program, now on the link.
    public var program: UInt32?
    /// Why, in a few words: which part differed.
    public var reason: String
}
