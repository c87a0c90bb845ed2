import Holon

/// SplitMix64: expands one 64-bit seed into well-mixed words (seeds ``TrafficRandom`` and derives
/// independent sub-streams).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    @inlinable public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    @inlinable
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// One mixed word from a seed and a stream number, for deriving sub-seeds.
    @inlinable
    public static func mix(_ seed: UInt64, _ stream: UInt64) -> UInt64 {
        var s = SplitMix64(seed: seed ^ (stream &* 0xD6E8_FEB8_6659_FD93))
        _ = s.next()
        return s.next()
    }
}

/// The seeded generator behind every scenario: Holon's specified xoshiro256** (one generator in
/// the project, so "same seed, same sequence, on every machine" has one definition), with the
/// draws traffic synthesis needs.
public struct TrafficRandom: RandomNumberGenerator, Sendable {
    @usableFromInline var core: Xoshiro256

    public init(seed: UInt64) { core = Xoshiro256(seed: seed) }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 { core.next() }

    /// Uniform in [0, 1) with 53 bits.
    @inlinable @inline(__always)
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [0, n) (Lemire's multiply-shift; the bias for n ≪ 2^32 is negligible).
    @inlinable @inline(__always)
    public mutating func below(_ n: UInt32) -> UInt32 {
        UInt32(truncatingIfNeeded: (UInt64(UInt32(truncatingIfNeeded: next() >> 32)) &* UInt64(n)) >> 32)
    }

    /// Uniform in lo...hi (inclusive).
    @inlinable @inline(__always)
    public mutating func between(_ lo: UInt32, _ hi: UInt32) -> UInt32 {
        lo &+ below(hi &- lo &+ 1)
    }

    @inlinable @inline(__always)
    public mutating func word32() -> UInt32 { UInt32(truncatingIfNeeded: next() >> 32) }

    @inlinable @inline(__always)
    public mutating func word16() -> UInt16 { UInt16(truncatingIfNeeded: next() >> 48) }

    /// True with probability p.
    @inlinable @inline(__always)
    public mutating func chance(_ p: Double) -> Bool { unit() < p }
}
