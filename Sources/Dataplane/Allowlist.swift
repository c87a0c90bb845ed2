import CHolonXDP
import CLibBPF
import Packets

/// A source prefix that always passes: a packet from it that meets a rule passes as if it met
/// none (the rule neither acts nor counts; the filter counts it `allowlisted`).
public typealias AllowPrefix = IPPrefix

extension Dataplane {
    /// Adds source prefixes to the allowlist.
    public func allow(_ prefixes: [AllowPrefix]) throws(DataplaneError) {
        try exclusive { () throws(DataplaneError) in try insert(prefixes) }
    }

    private func insert(_ prefixes: [AllowPrefix]) throws(DataplaneError) {
        // The program looks a trie up only while its bit is set: set it before the first insert.
        var bits: UInt32 = 0
        for p in prefixes {
            if case .v4 = p.address { bits |= HOLON_ALLOW_V4 } else { bits |= HOLON_ALLOW_V6 }
        }
        try setAllowBits(bits, on: true)
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

    /// The allowlist as the filter's tries hold it (v4 first, each in key order).
    public func allowlisted() -> [AllowPrefix] {
        var found: [AllowPrefix] = []
        for map in [XDPMap.allowV4, .allowV6] {
            let key = UnsafeMutableRawPointer.allocate(byteCount: map.keySize, alignment: 8)
            let next = UnsafeMutableRawPointer.allocate(byteCount: map.keySize, alignment: 8)
            defer { key.deallocate(); next.deallocate() }
            var first = true
            while bpf_map_get_next_key(fd(map), first ? nil : key, next) == 0 {
                first = false
                key.copyMemory(from: next, byteCount: map.keySize)
                let length = UInt8(truncatingIfNeeded: key.load(as: UInt32.self))
                if map == .allowV4 {
                    found.append(AllowPrefix(.v4(UInt32(bigEndian: key.loadUnaligned(fromByteOffset: 4, as: UInt32.self))), length: length))
                } else {
                    let hi = UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 4, as: UInt64.self))
                    let lo = UInt64(bigEndian: key.loadUnaligned(fromByteOffset: 12, as: UInt64.self))
                    found.append(AllowPrefix(.v6(high: hi, low: lo), length: length))
                }
            }
        }
        return found
    }

    /// Empties the allowlist.
    public func clearAllowlist() {
        try? exclusive { () throws(DataplaneError) in removeAll() }
    }

    private func removeAll() {
        for map in [XDPMap.allowV4, .allowV6] {
            let key = UnsafeMutableRawPointer.allocate(byteCount: map.keySize, alignment: 8)
            defer { key.deallocate() }
            // Deleting the first key each time: iteration order is undefined after a delete.
            while bpf_map_get_next_key(fd(map), nil, key) == 0 {
                if bpf_map_delete_elem(fd(map), key) != 0 { break }
            }
        }
        // Only a trie seen empty stops being looked up; a failure here leaves the bit set (the
        // lookup costs time, never a wrong verdict).
        try? setAllowBits((HOLON_ALLOW_V4 | HOLON_ALLOW_V6) & ~occupiedAllowTries(), on: false)
    }

    /// The allowlist bits of the tries that hold at least one prefix now.
    func occupiedAllowTries() -> UInt32 {
        var bits: UInt32 = 0
        for (map, bit) in [(XDPMap.allowV4, HOLON_ALLOW_V4), (.allowV6, HOLON_ALLOW_V6)] {
            let key = UnsafeMutableRawPointer.allocate(byteCount: map.keySize, alignment: 8)
            defer { key.deallocate() }
            if bpf_map_get_next_key(fd(map), nil, key) == 0 { bits |= bit }
        }
        return bits
    }

    /// Sets (or clears) the config bits that tell the program which allowlist tries to look up.
    /// Called inside ``exclusive(_:)``: no other change of the allowlist or the config runs
    /// between the bit and the tries.
    private func setAllowBits(_ bits: UInt32, on: Bool) throws(DataplaneError) {
        guard bits != 0 else { return }
        let c = try config()
        let next = on ? c.allow | bits : c.allow & ~bits
        guard next != c.allow else { return }
        try writeConfig(c, allowBits: next)
    }
}
