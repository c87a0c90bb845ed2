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

    /// Takes the pin path off each map of `obj` not pinned in `dir` yet, so loading creates it
    /// unpinned; returns their names for ``pin(_:_:in:)``. For a program taking over a filter
    /// of an earlier version: a map pinned before its program runs would tell the next
    /// `holon` the filter is this version's while the earlier program still reads the old
    /// layout (a takeover cut short).
    static func deferPins(_ obj: OpaquePointer, in dir: String) throws(DataplaneError) -> [String] {
        let names = unpinned(in: dir)
        for name in names {
            guard let map = bpf_object__find_map_by_name(obj, name) else { continue }
            let r = bpf_map__set_pin_path(map, nil)
            if r < 0 { throw .system("clearing the pin path of \(name)", code: -r) }
        }
        return names
    }

    /// The shared maps (``XDPMap``) not pinned in `dir`: those a filter of an earlier version
    /// lacks.
    static func unpinned(in dir: String) -> [String] {
        XDPMap.allCases.map(\.name).filter { !FileManager.default.fileExists(atPath: "\(dir)/\($0)") }
    }

    /// Pins the maps ``deferPins(_:in:)`` held back, once the loaded program runs.
    static func pin(_ obj: OpaquePointer, _ names: [String], in dir: String) throws(DataplaneError) {
        for name in names {
            guard let map = bpf_object__find_map_by_name(obj, name) else { throw .system("finding map \(name)", code: ENOENT) }
            try DataplaneError.check(bpf_map__pin(map, "\(dir)/\(name)"), "pinning \(name)")
        }
    }
}
