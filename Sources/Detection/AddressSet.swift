import Holon
import Packets

/// A set of addresses for the per-packet path: open addressing over the address bits with a
/// multiply-xorshift hash, no per-process seeding and no `Hasher`. The detector asks "is this
/// source known?" for every learned sample; `Set<IPAddress>` spent ~30 ns on it (SipHash), which
/// was 8 % of `holon bench detect`.
///
/// Only insertion and lookup: the detector's source sets grow and are dropped whole.
struct AddressSet: Sequence {
    /// IPv4 addresses in 4 bytes each (0 marks an empty slot; 0.0.0.0 is `hasZeroV4`): with
    /// 20,000 clients the table the lookup walks is 256 KB and stays in the core's L2, where 24-byte
    /// slots for both families missed it (6 % of `holon bench detect` in the probe alone).
    private var v4: [UInt32]
    private var hasZeroV4 = false
    private var v4Count = 0
    /// IPv6 addresses; `used` marks a full slot.
    private var v6: [Slot6]
    private var v6Count = 0

    private struct Slot6 {
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        var used = false
    }

    init(minimumCapacity: Int = 0) {
        var n = 16
        while n < 2 * minimumCapacity { n <<= 1 }
        v4 = [UInt32](repeating: 0, count: n)
        v6 = [Slot6](repeating: Slot6(), count: 16)
    }

    init<S: Sequence>(_ addresses: S) where S.Element == IPAddress {
        self.init(minimumCapacity: addresses.underestimatedCount)
        for a in addresses { insert(a) }
    }

    var count: Int { v4Count + (hasZeroV4 ? 1 : 0) + v6Count }
    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private static func home(_ x: UInt32) -> Int { Int(truncatingIfNeeded: StableHash.fmix64(UInt64(x))) }

    @inline(__always)
    private static func home(_ hi: UInt64, _ lo: UInt64) -> Int {
        Int(truncatingIfNeeded: StableHash.fmix64(lo ^ StableHash.fmix64(hi)))
    }

    /// The slot holding `x` (not 0), or the empty slot where it would go.
    @inline(__always)
    private static func find(_ x: UInt32, in table: UnsafeBufferPointer<UInt32>) -> Int {
        let mask = table.count - 1
        var i = home(x) & mask
        while true {
            let s = table[i]
            if s == x || s == 0 { return i }
            i = (i + 1) & mask
        }
    }

    @inline(__always)
    private static func find(_ hi: UInt64, _ lo: UInt64, in table: UnsafeBufferPointer<Slot6>) -> Int {
        let mask = table.count - 1
        var i = home(hi, lo) & mask
        while true {
            let s = table[i]
            if !s.used || (s.lo == lo && s.hi == hi) { return i }
            i = (i + 1) & mask
        }
    }

    func contains(_ a: IPAddress) -> Bool {
        switch a {
        case .v4(let x):
            if x == 0 { return hasZeroV4 }
            return v4.withUnsafeBufferPointer { $0[Self.find(x, in: $0)] != 0 }
        case .v6(let hi, let lo):
            return v6.withUnsafeBufferPointer { $0[Self.find(hi, lo, in: $0)].used }
        }
    }

    /// Adds `a`; returns whether it was new.
    @discardableResult
    mutating func insert(_ a: IPAddress) -> Bool {
        switch a {
        case .v4(let x):
            if x == 0 {
                defer { hasZeroV4 = true }
                return !hasZeroV4
            }
            let i = v4.withUnsafeBufferPointer { Self.find(x, in: $0) }
            if v4[i] != 0 { return false }
            v4[i] = x
            v4Count += 1
            // At most half full, so probes stay short and `find` always meets an empty slot.
            if 2 * v4Count > v4.count { v4 = Self.regrown(v4) }
        case .v6(let hi, let lo):
            let i = v6.withUnsafeBufferPointer { Self.find(hi, lo, in: $0) }
            if v6[i].used { return false }
            v6[i] = Slot6(hi: hi, lo: lo, used: true)
            v6Count += 1
            if 2 * v6Count > v6.count { v6 = Self.regrown(v6) }
        }
        return true
    }

    private static func regrown(_ old: [UInt32]) -> [UInt32] {
        var t = [UInt32](repeating: 0, count: 2 * old.count)
        t.withUnsafeMutableBufferPointer { p in
            for x in old where x != 0 { p[find(x, in: UnsafeBufferPointer(p))] = x }
        }
        return t
    }

    private static func regrown(_ old: [Slot6]) -> [Slot6] {
        var t = [Slot6](repeating: Slot6(), count: 2 * old.count)
        t.withUnsafeMutableBufferPointer { p in
            for s in old where s.used { p[find(s.hi, s.lo, in: UnsafeBufferPointer(p))] = s }
        }
        return t
    }

    /// The addresses, v4 first (iterated only when a set is merged or saved, not per packet).
    func makeIterator() -> IndexingIterator<[IPAddress]> {
        var out: [IPAddress] = []
        out.reserveCapacity(count)
        if hasZeroV4 { out.append(.v4(0)) }
        for x in v4 where x != 0 { out.append(.v4(x)) }
        for s in v6 where s.used { out.append(.v6(high: s.hi, low: s.lo)) }
        return out.makeIterator()
    }

    var underestimatedCount: Int { count }
}
