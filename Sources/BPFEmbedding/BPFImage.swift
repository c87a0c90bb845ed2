import CLibBPF
import Foundation

/// A BPF object the BPFObject build plugin compiled and embedded as base64 — the XDP filter,
/// the generator's programs — decoded once and opened with libbpf. One loader for all of them.
public final class BPFImage: @unchecked Sendable {
    public let name: String
    /// Never freed: libbpf reads the ELF from this buffer while it opens and loads it, and the
    /// images are process-wide statics.
    public let bytes: UnsafeRawBufferPointer

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
