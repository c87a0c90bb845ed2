import CHolonXDP
import CLibBPF
import Packets

/// A source prefix that always passes, before any rule.
public typealias AllowPrefix = IPPrefix

extension Dataplane {
    /// Adds source prefixes to the allowlist.
    public func allow(_ prefixes: [AllowPrefix]) throws(DataplaneError) {
        var one: UInt8 = 1
        for p in prefixes {
            switch p.address {
            case .v4(let a):
                var k = holon_lpm_v4()
                k.prefixlen = UInt32(p.length)
                withUnsafeMutableBytes(of: &k.addr) { $0.storeBytes(of: a.bigEndian, as: UInt32.self) }
                try DataplaneError.check(bpf_map_update_elem(fd(.allowV4), &k, &one, UInt64(BPF_ANY)), "allowlisting \(p)")
            case .v6(let hi, let lo):
                var k = holon_lpm_v6()
                k.prefixlen = UInt32(p.length)
                withUnsafeMutableBytes(of: &k.addr) {
                    $0.storeBytes(of: hi.bigEndian, toByteOffset: 0, as: UInt64.self)
                    $0.storeBytes(of: lo.bigEndian, toByteOffset: 8, as: UInt64.self)
                }
                try DataplaneError.check(bpf_map_update_elem(fd(.allowV6), &k, &one, UInt64(BPF_ANY)), "allowlisting \(p)")
            }
        }
    }

    /// Empties the allowlist.
    public func clearAllowlist() {
        for map in [XDPMap.allowV4, .allowV6] {
            let key = UnsafeMutableRawPointer.allocate(byteCount: map.keySize, alignment: 8)
            defer { key.deallocate() }
            // Deleting the first key each time: iteration order is undefined after a delete.
            while bpf_map_get_next_key(fd(map), nil, key) == 0 {
                if bpf_map_delete_elem(fd(map), key) != 0 { break }
            }
        }
    }
}
