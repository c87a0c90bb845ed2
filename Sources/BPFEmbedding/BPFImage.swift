import CLibBPF
import Foundation

/// A BPF object the BPFObject build plugin compiled and embedded as base64 — the XDP filter,
/// the generator's programs — decoded once and opened with libbpf. One loader for all of them.
public final class BPFImage: @unchecked Sendable {
    public let name: String
    /// Never freed: libbpf reads the ELF from this buffer while it opens and loads it, and the
    /// images are process-wide statics.
    public let bytes: UnsafeRawBufferPointer
    /// A fingerprint of the object's bytes (64-bit FNV-1a): two builds of one source share it,
    /// any change to the object (a program, a map) changes it. Not a defence against anyone.
    public var digest: UInt64 {
        bytes.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }

    public init(base64: String, name: String) {
        self.name = name
        let data = Data(base64Encoded: base64)!
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 16)
        data.copyBytes(to: buf)
        bytes = UnsafeRawBufferPointer(buf)
    }

    /// Parses the object (maps, programs, BTF) without loading anything into the kernel: no
    /// root needed. nil with `errno` set when libbpf refuses it.
    public func open() -> OpaquePointer? {
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        return name.withCString { n in
            opts.object_name = n
            return bpf_object__open_mem(bytes.baseAddress, bytes.count, &opts)
        }
    }
}
