import BPFEmbedding
import CLibBPF
import Foundation

/// The compiled XDP program, embedded by the BPFObject build plugin (holonXdpObjectBase64).
enum EmbeddedObject {
    static let image = BPFImage(base64: holonXdpObjectBase64, name: "holon_xdp")
    static let programName = "holon_xdp"

    /// Opens (does not load) the object. With `pinDirectory`, every shared map gets a pin path
    /// there, so loading reuses maps already pinned (a restart keeps rules and counters) and
    /// pins the ones it creates.
    static func open(pinDirectory: String?) throws(DataplaneError) -> OpaquePointer {
        let obj = image.open()
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
