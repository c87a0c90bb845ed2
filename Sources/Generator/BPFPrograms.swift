import BPFEmbedding
import CGeneratorShim
import CLibBPF
import Foundation
import Lab

/// A BPF object the BPFObject plugin compiled and embedded as base64, opened and loaded with
/// libbpf. Closing the object closes its programs and maps.
final class EmbeddedBPF: @unchecked Sendable {
    let object: OpaquePointer

    init(_ image: BPFImage) throws(GeneratorError) {
        guard geteuid() == 0 else { throw .notRoot }
        guard let obj = image.open() else { throw .system("open the BPF object \(image.name)", errno) }
        let rc = bpf_object__load(obj)
        if rc < 0 {
            bpf_object__close(obj)
            throw rc == -EPERM ? .notRoot : .system("load the BPF object \(image.name)", -rc)
        }
        object = obj
    }

    func program(_ name: String) throws(GeneratorError) -> Int32 {
        let fd = bpf_object__find_program_by_name(object, name).map { bpf_program__fd($0) } ?? -1
        guard fd >= 0 else { throw .system("find BPF program \(name)", ENOENT) }
        return fd
    }

    func map(_ name: String) throws(GeneratorError) -> Int32 {
        let fd = bpf_object__find_map_fd_by_name(object, name)
        guard fd >= 0 else { throw .system("find BPF map \(name)", ENOENT) }
        return fd
    }

    deinit { bpf_object__close(object) }
}

/// A program that counts every packet arriving on an interface and drops it (or, `passing`, lets
/// it on to the stack and packet capture): the far side of tests and benchmarks. It goes away
/// with the interface (or `detach()`).
public final class PacketCounter: @unchecked Sendable {
    /// Where the counter sits on the receive path.
    public enum Hook: Sendable {
        /// Native XDP: the cheapest drop, but a veth whose peer runs XDP queues frames in a ring
        /// and pushes back on senders when it fills.
        case xdp
        /// tc ingress (clsact, direct action): the frame takes the ordinary skb receive path up to tc, so
        /// senders meet no backpressure, and is dropped before IP.
        case tcIngress
    }

    public let ifindex: Int32
    public let hook: Hook
    let object: EmbeddedBPF
    let mapFD: Int32
    let cpus: Int
    let namespace: NetworkNamespace?
    var attached = true

    /// Decoded once and kept: libbpf reads the ELF from it while opening.
    static let image = BPFImage(base64: holonCountObjectBase64, name: "holon_count")

    /// Attaches to `interface` (inside `namespace`).
    public init(interface: String, namespace: NetworkNamespace?, hook: Hook = .xdp, passing: Bool = false) throws {
        cpus = Int(libbpf_num_possible_cpus())
        self.hook = hook
        object = try EmbeddedBPF(Self.image)
        mapFD = try object.map("counts")
        let prog = try object.program("count_\(hook == .xdp ? "xdp" : "tc")_\(passing ? "pass" : "drop")")
        self.namespace = namespace
        ifindex = try NetworkNamespace.run(in: namespace) { () throws -> Int32 in
            let info = try InterfaceInfo.lookup(interface, namespace: namespace?.name)
            switch hook {
            case .xdp:
                let rc = bpf_xdp_attach(info.index, prog, 4 /* XDP_FLAGS_DRV_MODE */, nil)
                if rc < 0 { throw GeneratorError.system("attach XDP counter to \(interface)", -rc) }
            case .tcIngress:
                var hook = Self.tcHook(info.index)
                var rc = bpf_tc_hook_create(&hook)
                if rc < 0 && rc != -EEXIST { throw GeneratorError.system("add clsact to \(interface)", -rc) }
                var opts = bpf_tc_opts()
                // libbpf rejects non-zero bytes past the last field it knows: size up to `priority`.
                opts.sz = MemoryLayout<bpf_tc_opts>.offset(of: \bpf_tc_opts.priority)! + 4
                opts.prog_fd = prog
                rc = bpf_tc_attach(&hook, &opts)
                if rc < 0 { throw GeneratorError.system("attach tc counter to \(interface)", -rc) }
            }
            return info.index
        }
    }

    /// Packets seen so far (all CPUs).
    public var count: UInt64 {
        var values = [UInt64](repeating: 0, count: max(cpus, 1))
        var key: UInt32 = 0
        guard bpf_map_lookup_elem(mapFD, &key, &values) == 0 else { return 0 }
        return values.reduce(0, &+)
    }

    public func detach() {
        guard attached else { return }
        attached = false
        switch hook {
        case .xdp:
            let idx = ifindex
            _ = try? NetworkNamespace.run(in: namespace) { bpf_xdp_detach(idx, 4, nil) }
        case .tcIngress:
            // Removing the clsact qdisc removes the filter with it.
            let idx = ifindex
            _ = try? NetworkNamespace.run(in: namespace) { () -> Int32 in
                var hook = Self.tcHook(idx)
                hook.attach_point = bpf_tc_attach_point(BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue)
                return bpf_tc_hook_destroy(&hook)
            }
        }
    }

    static func tcHook(_ ifindex: Int32) -> bpf_tc_hook {
        var hook = bpf_tc_hook()
        hook.sz = MemoryLayout<bpf_tc_hook>.offset(of: \bpf_tc_hook.parent)! + 4
        hook.ifindex = ifindex
        hook.attach_point = BPF_TC_INGRESS
        return hook
    }

    deinit { detach() }
}
