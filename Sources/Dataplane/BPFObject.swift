import CLibBPF
import Foundation

/// The compiled XDP program, embedded by the BPFObject build plugin (holonXdpObjectBase64).
enum EmbeddedObject {
    /// Decoded once and never freed: libbpf reads the ELF from this buffer while it loads.
    nonisolated(unsafe) static let bytes: UnsafeRawBufferPointer = {
        let data = Data(base64Encoded: holonXdpObjectBase64)!
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count, alignment: 16)
        data.copyBytes(to: buf)
        return UnsafeRawBufferPointer(buf)
    }()

    static let programName = "holon_xdp"

    /// Opens (does not load) the object. With `pinDirectory`, every shared map gets a pin path
    /// there, so loading reuses maps already pinned (a restart keeps rules and counters) and
    /// pins the ones it creates.
    static func open(pinDirectory: String?) throws(DataplaneError) -> OpaquePointer {
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        let obj: OpaquePointer? = "holon_xdp".withCString { name in
            opts.object_name = name
            return bpf_object__open_mem(bytes.baseAddress, bytes.count, &opts)
        }
        guard let obj else { throw .system("opening the embedded BPF object", code: errno) }
        if let dir = pinDirectory {
            var m = bpf_object__next_map(obj, nil)
            while let map = m {
                let name = String(cString: bpf_map__name(map))
                if XDPMap(rawValue: name) != nil {
                    let r = bpf_map__set_pin_path(map, "\(dir)/\(name)")
                    if r < 0 {
                        bpf_object__close(obj)
                        throw .system("setting pin path of \(name)", code: -r)
                    }
                }
                m = bpf_object__next_map(obj, map)
            }
        }
        return obj
    }
}
