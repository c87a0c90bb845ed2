import CGeneratorShim
import CLibBPF
import Foundation

/// The generator's two BPF programs, built as instruction arrays (no clang step) and loaded
/// with libbpf.
public enum BPFPrograms {
    static func load(_ insns: [UInt64], name: String) throws(GeneratorError) -> Int32 {
        var log = [CChar](repeating: 0, count: 64 * 1024)
        let fd: Int32 = insns.withUnsafeBufferPointer { buf in
            log.withUnsafeMutableBufferPointer { logBuf in
                var opts = bpf_prog_load_opts()
                opts.sz = MemoryLayout<bpf_prog_load_opts>.size
                opts.log_buf = logBuf.baseAddress
                opts.log_size = UInt32(logBuf.count)
                opts.log_level = 0
                return buf.baseAddress!.withMemoryRebound(to: bpf_insn.self, capacity: buf.count) { p in
                    bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", p, buf.count, &opts)
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

    /// `return XDP_TX`: under BPF_PROG_RUN with live frames, every run transmits the frame out
    /// of the context's ingress interface.
    public static func loadTransmitter() throws(GeneratorError) -> Int32 {
        var insns = [UInt64](repeating: 0, count: 8)
        let n = hg_xdp_tx_program(&insns, Int32(insns.count))
        return try load(Array(insns.prefix(Int(n))), name: "holon_gen_tx")
    }
}

/// An XDP program that counts and drops every packet arriving on an interface: the far side of
/// tests and benchmarks. Attached natively; it goes away with the interface (or `detach()`).
public final class PacketCounter: @unchecked Sendable {
    public let ifindex: Int32
    let mapFD: Int32
    let progFD: Int32
    let cpus: Int
    let namespace: NetworkNamespace?
    var attached = true

    /// Attaches to `interface` (inside `namespace`) in native mode.
    public init(interface: String, namespace: NetworkNamespace?) throws {
        cpus = Int(libbpf_num_possible_cpus())
        let m = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "holon_gen_cnt", 4, 8, 1, nil)
        if m < 0 { throw GeneratorError.system("create counter map", errno) }
        mapFD = m
        var insns = [UInt64](repeating: 0, count: 32)
        let n = hg_xdp_count_drop_program(&insns, Int32(insns.count), m)
        do {
            progFD = try BPFPrograms.load(Array(insns.prefix(Int(n))), name: "holon_gen_count")
        } catch {
            close(m)
            throw error
        }
        self.namespace = namespace
        let prog = progFD
        do {
            ifindex = try NetworkNamespace.run(in: namespace) { () throws -> Int32 in
                let info = try InterfaceInfo.lookup(interface, namespace: namespace?.name)
                let rc = bpf_xdp_attach(info.index, prog, 4 /* XDP_FLAGS_DRV_MODE */, nil)
                if rc < 0 { throw GeneratorError.system("attach XDP counter to \(interface)", -rc) }
                return info.index
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
        let idx = ifindex
        _ = try? NetworkNamespace.run(in: namespace) { bpf_xdp_detach(idx, 4, nil) }
    }

    deinit {
        detach()
        close(progFD)
        close(mapFD)
    }
}
