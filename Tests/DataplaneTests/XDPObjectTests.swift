import CLibBPF
@testable import Dataplane
import Testing

/// Issue 12 §2: the embedded XDP object, opened as libbpf parses it (no root: nothing is
/// loaded), against the maps user space reads and writes — every name, type, key and value
/// size, and the inner-map templates the loader's generations must fit.
struct XDPObjectTests {
    /// Each function the program keeps as a function of its own is a call and a return a
    /// packet, ~8 ns through this CPU's return thunk. The global ones are kept on purpose (each
    /// is verified once, alone); these are on every matched packet's path and must stay inline,
    /// which clang may decide otherwise for a plain `static inline` (it did for the bucket hash).
    @Test func theHotPathsHelpersAreInlined() throws {
        let obj = try EmbeddedObject.open(pinDirectory: nil)
        defer { bpf_object__close(obj) }
        let btf = try #require(bpf_object__btf(obj))
        let function: UInt32 = 12   // BTF_KIND_FUNC (<linux/btf.h>; two modules import it, so Swift cannot name it)
        #expect(btf__find_by_name_kind(btf, "holon_parse", function) > 0, "the check finds a function that is one")
        for name in ["parse", "parse_network", "ipv4_head", "ipv6_head", "parse_transport", "holon_bucket_of", "classify_one", "key_values", "classify_won", "checks_ok", "check_pass", "rule_counters",
                     "allowlisted", "holon_port_band", "holon_size_class"] {
            #expect(btf__find_by_name_kind(btf, name, function) < 0, "\(name) is a function of its own in the program")
        }
    }

    @Test func everyMapIsWhatUserSpaceTakesItFor() throws {
        let obj = try EmbeddedObject.open(pinDirectory: nil)
        defer { bpf_object__close(obj) }
        var inObject: [String: OpaquePointer] = [:]
        var m = bpf_object__next_map(obj, nil)
        while let map = m {
            inObject[String(cString: bpf_map__name(map))] = map
            m = bpf_object__next_map(obj, map)
        }
        for x in XDPMap.allCases {
            guard let map = inObject[x.name] else {
                Issue.record("\(x.name) is not in the XDP object (maps: \(inObject.keys.sorted()))")
                continue
            }
            #expect(bpf_map__type(map) == x.type, "\(x.name): type \(bpf_map__type(map).rawValue), Swift says \(x.type.rawValue)")
            #expect(Int(bpf_map__key_size(map)) == x.keySize, "\(x.name): key \(bpf_map__key_size(map)) bytes, Swift says \(x.keySize)")
            #expect(Int(bpf_map__value_size(map)) == x.valueSize, "\(x.name): value \(bpf_map__value_size(map)) bytes, Swift says \(x.valueSize)")
            let inner = bpf_map__inner_map(map)
            #expect((inner != nil) == (x.inner != nil), "\(x.name): inner map template present \(inner != nil)")
            if let inner, let want = x.inner {
                #expect(bpf_map__type(inner) == want.type, "\(x.name) inner: type")
                #expect(Int(bpf_map__key_size(inner)) == want.keySize, "\(x.name) inner: key \(bpf_map__key_size(inner)) vs \(want.keySize)")
                #expect(Int(bpf_map__value_size(inner)) == want.valueSize, "\(x.name) inner: value \(bpf_map__value_size(inner)) vs \(want.valueSize)")
                #expect(bpf_map__map_flags(inner) & want.flags == want.flags, "\(x.name) inner: flags")
                if let n = want.entries { #expect(Int(bpf_map__max_entries(inner)) == n, "\(x.name) inner: entries") }
            }
        }
        // The rest are the programs' own (per-CPU scratch, the connection state syn-auth and
        // flow-check share between the XDP and tc egress programs, libbpf's .rodata/.bss):
        // never pinned, they live as long as the programs.
        let own = Set(inObject.keys).subtracting(XDPMap.allCases.map(\.name))
        let programState: Set<String> = ["scratch", "syn_pending", "syn_ok", "flows"]
        #expect(own.allSatisfy { programState.contains($0) || $0.contains(".") }, "maps user space does not know: \(own.sorted())")
        #expect(bpf_object__find_program_by_name(obj, EmbeddedObject.programName) != nil)
        #expect(bpf_object__find_program_by_name(obj, EgressHook.programName) != nil)
    }
}
