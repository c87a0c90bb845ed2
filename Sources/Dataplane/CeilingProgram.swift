import BPFEmbedding
import CHolonXDP
import CLibBPF
import Glibc

/// XDP programs `holon bench xdp` compares the filter with, under the same live frames on the
/// same CPUs, loaded privately and never attached:
/// - ``Kind/dropAll`` (`bpf/holon_drop_all.bpf.c`) drops every frame and does nothing else:
///   what receiving a frame costs;
/// - ``Kind/readDrop`` (`bpf/holon_read_drop.bpf.c`) reads the IPv4 source and drops: what
///   reading the frame's bytes costs, which every filter pays and drop-all does not;
/// - ``Kind/parseOnly`` (`bpf/holon_parse_only.bpf.c`) is the filter itself stopped after its
///   parser and global counters: what any rule table costs at least, before classifying;
/// - ``Kind/oneLookup`` (`bpf/holon_one_lookup.bpf.c`) drops the IPv4 sources given to
///   ``block(sources:)`` with one kernel hash lookup and nothing else: the least a table of
///   many addresses costs with a BPF hash map, against which the classifier's cost is judged.
public final class CeilingProgram: @unchecked Sendable {   // immutable after init; the kernel runs it concurrently
    public enum Kind: Sendable {
        case dropAll, readDrop, parseOnly, oneLookup

        var image: BPFImage {
            switch self {
            case .dropAll: return BPFImage(base64: holonDropAllObjectBase64, name: "holon_drop_all")
            case .readDrop: return BPFImage(base64: holonReadDropObjectBase64, name: "holon_read_drop")
            case .parseOnly: return BPFImage(base64: holonParseOnlyObjectBase64, name: "holon_parse_only")
            case .oneLookup: return BPFImage(base64: holonOneLookupObjectBase64, name: "holon_one_lookup")
            }
        }

        var program: String {
            switch self {
            case .dropAll: return "holon_drop_all"
            case .readDrop: return "holon_read_drop"
            case .parseOnly: return EmbeddedObject.programName
            case .oneLookup: return "holon_one_lookup"
            }
        }
    }

    let object: OpaquePointer
    let programFD: Int32

    public init(_ kind: Kind) throws(DataplaneError) {
        try Dataplane.requireRoot()
        guard let obj = kind.image.open() else { throw .system("opening the \(kind.program) BPF object", code: errno) }
        let r = bpf_object__load(obj)
        if r < 0 {
            bpf_object__close(obj)
            throw .system("loading the \(kind) program", code: -r)
        }
        object = obj
        programFD = bpf_object__find_program_by_name(obj, kind.program).map { bpf_program__fd($0) } ?? -1
        guard programFD >= 0 else { throw .system("finding the \(kind) program", code: ENOENT) }
    }

    deinit { bpf_object__close(object) }

    /// The IPv4 sources (host byte order) a ``Kind/oneLookup`` program drops.
    public func block(sources: [UInt32]) throws(DataplaneError) {
        guard let map = bpf_object__find_map_by_name(object, "blocked_sources") else {
            throw .system("finding the blocked_sources map (only the one-lookup program has it)", code: ENOENT)
        }
        let fd = bpf_map__fd(map)
        var one: UInt8 = 1
        for source in sources {
            var key = source.bigEndian
            try DataplaneError.check(bpf_map_update_elem(fd, &key, &one, UInt64(BPF_ANY)), "blocking a source in the one-lookup program")
        }
    }

    /// What it does with `frame` (BPF_PROG_RUN, once).
    public func action(_ frame: [UInt8]) throws(DataplaneError) -> XDPAction {
        try Dataplane.testRun(programFD: programFD, frame, repeat: 1).action
    }

    /// `count` live frames through it; wall-clock ns.
    public func liveFrames(_ frame: [UInt8], count: UInt32, batchSize: UInt32 = 256) throws(DataplaneError) -> UInt64 {
        try Dataplane.liveFrames(programFD: programFD, frame, count: count, batchSize: batchSize)
    }
}
