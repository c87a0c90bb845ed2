import BPFEmbedding
import CLibBPF
import Glibc

/// An XDP program that drops every frame (`bpf/holon_drop_all.bpf.c`), loaded privately and
/// never attached: the ceiling `holon bench xdp` compares the filter with, under the same live
/// frames on the same CPUs.
public final class DropAllProgram: @unchecked Sendable {   // immutable after init; the kernel runs it concurrently
    static let image = BPFImage(base64: holonDropAllObjectBase64, name: "holon_drop_all")
    let object: OpaquePointer
    let programFD: Int32

    public init() throws(DataplaneError) {
        try Dataplane.requireRoot()
        guard let obj = Self.image.open() else { throw .system("opening the drop-all BPF object", code: errno) }
        let r = bpf_object__load(obj)
        if r < 0 {
            bpf_object__close(obj)
            throw .system("loading the drop-all program", code: -r)
        }
        object = obj
        programFD = bpf_object__find_program_by_name(obj, "holon_drop_all").map { bpf_program__fd($0) } ?? -1
        guard programFD >= 0 else { throw .system("finding the drop-all program", code: ENOENT) }
    }

    deinit { bpf_object__close(object) }

    /// `count` live frames through it; wall-clock ns.
    public func liveFrames(_ frame: [UInt8], count: UInt32, batchSize: UInt32 = 256) throws(DataplaneError) -> UInt64 {
        try Dataplane.liveFrames(programFD: programFD, frame, count: count, batchSize: batchSize)
    }
}
