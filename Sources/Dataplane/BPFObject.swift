import BPFEmbedding
import CLibBPF
import Foundation

/// The compiled XDP program, embedded by the BPFObject build plugin (holonXdpObjectBase64).
enum EmbeddedObject {
    static let image = BPFImage(base64: holonXdpObjectBase64, name: "holon_xdp")
    static let programName = "holon_xdp"

    /// Opens (does not load) the object. With `pinDirectory`, every shared map gets a pin path
    /// there, so loading reuses maps already pinned (a restart keeps rules and counters) and
    /// pins the ones it creates. `multiBuffer`: the program is to be loaded frags-aware, for an
    /// interface whose frames span several buffers (``multiBufferVariant(_:)``).
    static func open(pinDirectory: String?, multiBuffer: Bool = false) throws(DataplaneError) -> OpaquePointer {
        let obj = image.open()
        guard let obj else { throw .system("opening the embedded BPF object", code: errno) }
        if multiBuffer {
            do throws(DataplaneError) { try makeMultiBuffer(obj) } catch {
                bpf_object__close(obj)
                throw error
            }
        }
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

    /// The filter program of `obj` (opened, not loaded) made frags-aware: loaded with
    /// BPF_F_XDP_HAS_FRAGS, and `holon_frags` (its one read-only datum) set, so that it reads a
    /// frame's whole length with the helper. Drivers attach it natively at any MTU.
    private static func makeMultiBuffer(_ obj: OpaquePointer) throws(DataplaneError) {
        guard let prog = bpf_object__find_program_by_name(obj, programName) else {
            throw .system("finding program \(programName)", code: ENOENT)
        }
        let r = bpf_program__set_flags(prog, bpf_program__flags(prog) | UInt32(BPF_F_XDP_HAS_FRAGS))
        if r < 0 { throw .system("making \(programName) frags-aware", code: -r) }
        var m = bpf_object__next_map(obj, nil)
        while let map = m {
            if bpf_map__is_internal(map), String(cString: bpf_map__name(map)).hasSuffix(".rodata") {
                var size = 0
                guard bpf_map__initial_value(map, &size) != nil, size == MemoryLayout<UInt32>.size else {
                    throw .system("setting holon_frags: the object's read-only data is not the one UInt32 it was", code: EINVAL)
                }
                var on: UInt32 = 1
                let r = bpf_map__set_initial_value(map, &on, size)
                if r < 0 { throw .system("setting holon_frags", code: -r) }
                return
            }
            m = bpf_object__next_map(obj, map)
        }
        throw .system("setting holon_frags: the object has no read-only data", code: ENOENT)
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
