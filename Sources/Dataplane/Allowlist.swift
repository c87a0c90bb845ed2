import CHolonXDP
import CLibBPF
import Packets

/// A source prefix that always passes, before any rule.
public struct AllowPrefix: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var length: UInt8

    public init(_ address: IPAddress, length: UInt8) {
        self.address = address
        self.length = length
    }

    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a host prefix).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let a = IPAddress(String(parts[0])) else { return nil }
        let maxLen: UInt8 = a.isV4 ? 32 : 128
        let len = parts.count == 2 ? UInt8(parts[1]) : maxLen
        guard let len, len <= maxLen else { return nil }
        self.init(a, length: len)
    }

    public var description: String { "\(address)/\(length)" }
}

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
                try DataplaneError.check(bpf_map_update_elem(fd("allow_v4"), &k, &one, UInt64(BPF_ANY)), "allowlisting \(p)")
            case .v6(let hi, let lo):
                var k = holon_lpm_v6()
                k.prefixlen = UInt32(p.length)
                withUnsafeMutableBytes(of: &k.addr) {
                    $0.storeBytes(of: hi.bigEndian, toByteOffset: 0, as: UInt64.self)
                    $0.storeBytes(of: lo.bigEndian, toByteOffset: 8, as: UInt64.self)
                }
                try DataplaneError.check(bpf_map_update_elem(fd("allow_v6"), &k, &one, UInt64(BPF_ANY)), "allowlisting \(p)")
            }
        }
    }

    /// Empties the allowlist.
    public func clearAllowlist() {
        for (name, size) in [("allow_v4", MemoryLayout<holon_lpm_v4>.size), ("allow_v6", MemoryLayout<holon_lpm_v6>.size)] {
            let key = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            defer { key.deallocate() }
            // Deleting the first key each time: iteration order is undefined after a delete.
            while bpf_map_get_next_key(fd(name), nil, key) == 0 {
                if bpf_map_delete_elem(fd(name), key) != 0 { break }
            }
        }
    }
}
