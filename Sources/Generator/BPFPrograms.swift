import CGeneratorShim
import CLibBPF
import Foundation

/// Tiny BPF programs built as instruction arrays (no clang step) and loaded with libbpf.
public enum BPFPrograms {
    static func load(_ insns: [UInt64], name: String, type: bpf_prog_type = BPF_PROG_TYPE_XDP) throws(GeneratorError) -> Int32 {
        var log = [CChar](repeating: 0, count: 64 * 1024)
        let fd: Int32 = insns.withUnsafeBufferPointer { buf in
            log.withUnsafeMutableBufferPointer { logBuf in
                var opts = bpf_prog_load_opts()
                opts.sz = MemoryLayout<bpf_prog_load_opts>.size
                opts.log_buf = logBuf.baseAddress
                opts.log_size = UInt32(logBuf.count)
                opts.log_level = 0
                return buf.baseAddress!.withMemoryRebound(to: bpf_insn.self, capacity: buf.count) { p in
                    bpf_prog_load(type, name, "GPL", p, buf.count, &opts)
                }
            }
        }
        if fd < 0 {
            let e = errno
            if e == EPERM { throw .notRoot }
            throw .system("load BPF program \(name)", e)
        }
        return fd
    }
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
    let mapFD: Int32
    let progFD: Int32
    let cpus: Int
    let namespace: NetworkNamespace?
    var attached = true

    /// Attaches to `interface` (inside `namespace`).
    public init(interface: String, namespace: NetworkNamespace?, hook: Hook = .xdp, passing: Bool = false) throws {
        cpus = Int(libbpf_num_possible_cpus())
        self.hook = hook
        let m = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "holon_gen_cnt", 4, 8, 1, nil)
        if m < 0 { throw GeneratorError.system("create counter map", errno) }
        mapFD = m
        var insns = [UInt64](repeating: 0, count: 32)
        let verdict: Int32 = switch (hook, passing) {
        case (.xdp, false): 1        // XDP_DROP
        case (.xdp, true): 2         // XDP_PASS
        case (.tcIngress, false): 2  // TC_ACT_SHOT
        case (.tcIngress, true): 0   // TC_ACT_OK
        }
        let n = hg_count_drop_program(&insns, Int32(insns.count), m, verdict)
        do {
            progFD = try BPFPrograms.load(Array(insns.prefix(Int(n))), name: "holon_gen_count",
                                          type: hook == .xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS)
        } catch {
            close(m)
            throw error
        }
        self.namespace = namespace
        let prog = progFD
        do {
            ifindex = try NetworkNamespace.run(in: namespace) { () throws -> Int32 in
                let info = try InterfaceInfo.lookup(interface, namespace: namespace?.name)
                switch hook {
                case .xdp:
                    let rc = bpf_xdp_attach(info.index, prog, 4 /* XDP_FLAGS_DRV_MODE */, nil)
                    if rc < 0 { throw GeneratorError.system("attach XDP counter to \(interface)", -rc) }
                    return info.index
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
                    return info.index
                }
            }
        } catch {
            close(progFD); close(mapFD)
            throw error
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

    deinit {
        detach()
        close(progFD)
        close(mapFD)
    }
}
