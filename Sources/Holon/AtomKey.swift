/// The stable 64-bit identity of an atom: a hash of the atom's kind and value that is the same on
/// every machine and every run (Swift's `Hasher` is seeded per process, so it is not used).
///
/// Scheme (pinned by golden tests; changing it changes every vector Holon has ever made):
/// - strings: `fmix64(fnv1a64(utf8) ^ 0x73)`
/// - integers: `fmix64(UInt64(bitPattern: v) ^ 0x6900_0000_0000_0069)`
/// - booleans: the integers 0 and 1 under tag `0x62`: `fmix64(v ^ 0x6200_0000_0000_0062)`
/// - floats: an integral value in `Int` range is the integer; any other value is
///   `fmix64(v.bitPattern ^ 0x6600_0000_0000_0066)`
/// where `fmix64` is the MurmurHash3 64-bit finaliser and `fnv1a64` is FNV-1a 64.
public struct AtomKey: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable public static func string(_ s: String) -> AtomKey {
        var s = s
        return s.withUTF8 { AtomKey(rawValue: StableHash.fmix64(StableHash.fnv1a64($0) ^ 0x73)) }
    }

    @inlinable public static func int(_ v: Int) -> AtomKey {
        AtomKey(rawValue: StableHash.fmix64(UInt64(bitPattern: Int64(v)) ^ 0x6900_0000_0000_0069))
    }

    @inlinable public static func bool(_ v: Bool) -> AtomKey {
        AtomKey(rawValue: StableHash.fmix64((v ? 1 : 0) ^ 0x6200_0000_0000_0062))
    }

    @inlinable public static func double(_ v: Double) -> AtomKey {
        if v.rounded() == v, let i = Int(exactly: v) { return .int(i) }
        return AtomKey(rawValue: StableHash.fmix64(v.bitPattern ^ 0x6600_0000_0000_0066))
    }

    /// Cache key of a bound role ⊗ filler pair. Only a key: the pair's vector is always computed
    /// by binding the two atoms.
    @inlinable public static func pair(_ role: AtomKey, _ filler: AtomKey) -> AtomKey {
        AtomKey(rawValue: StableHash.fmix64(role.rawValue &* 0x9E37_79B9_7F4A_7C15 ^ filler.rawValue))
    }

    public var description: String { "atom#" + String(rawValue, radix: 16) }
}

/// Stable, seed-free hash functions used for atom keys and sketches.
public enum StableHash {
    /// MurmurHash3's 64-bit finaliser: a bijection with full avalanche.
    @inlinable @inline(__always)
    public static func fmix64(_ x: UInt64) -> UInt64 {
        var k = x
        k ^= k >> 33
        k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }

    /// FNV-1a, 64-bit.
    @inlinable
    public static func fnv1a64(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }

    /// A 64-bit hash of an integer, for sketches (HyperLogLog) that need uniform bits.
    @inlinable @inline(__always)
    public static func hash(_ v: UInt64) -> UInt64 { fmix64(v &+ 0x9E37_79B9_7F4A_7C15) }
}
