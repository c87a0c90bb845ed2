/// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
public enum Checksum {
    /// Ones-complement sum of `bytes` as big-endian 16-bit words (odd tail padded with zero),
    /// not yet folded or complemented: add pseudo-header sums to it, then ``finish(_:)``.
    @inlinable
    public static func sum(_ bytes: UnsafeRawBufferPointer, initial: UInt64 = 0) -> UInt64 {
        var acc = initial
        var i = 0
        let n = bytes.count
        // 4 bytes at a time into a 64-bit accumulator: carries collect in the high half and
        // are folded once at the end.
        while i &+ 4 <= n {
            acc &+= UInt64(bytes.be32(i))
            i &+= 4
        }
        if i &+ 2 <= n {
            acc &+= UInt64(bytes.be16(i))
            i &+= 2
        }
        if i < n {
            acc &+= UInt64(bytes.u8(i)) << 8
        }
        return acc
    }

    /// Folds a sum to 16 bits and complements it: the value to store in the header.
    @inlinable
    public static func finish(_ sum: UInt64) -> UInt16 {
        var s = sum
        s = (s & 0xFFFF_FFFF) &+ (s >> 32)
        s = (s & 0xFFFF_FFFF) &+ (s >> 32)
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        return ~UInt16(truncatingIfNeeded: s)
    }

    /// Checksum of `bytes`; 0 when the bytes include a correct checksum field.
    @inlinable
    public static func internet(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        finish(sum(bytes))
    }

    /// Sum of the IPv4 pseudo-header (RFC 793 / 768).
    @inlinable
    public static func pseudoHeaderV4(source: UInt32, destination: UInt32, proto: UInt8, length: Int) -> UInt64 {
        UInt64(source) &+ UInt64(destination) &+ UInt64(proto) &+ UInt64(length)
    }

    /// Sum of the IPv6 pseudo-header (RFC 8200 §8.1) given the 32 bytes of source+destination.
    @inlinable
    public static func pseudoHeaderV6(addresses: UnsafeRawBufferPointer, proto: UInt8, length: Int) -> UInt64 {
        sum(addresses) &+ UInt64(proto) &+ UInt64(length)
    }

    /// RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data changed from
    /// `old` to `new`: HC' = ~(~HC + ~m + m').
    @inlinable
    public static func update(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        var s = UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new)
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        return ~UInt16(truncatingIfNeeded: s)
    }

    /// As ``update(_:old:new:)`` for a 32-bit field (an IPv4 address).
    @inlinable
    public static func update(_ checksum: UInt16, old: UInt32, new: UInt32) -> UInt16 {
        var s = UInt32(~checksum) &+ UInt32(~UInt16(truncatingIfNeeded: old >> 16)) &+ UInt32(~UInt16(truncatingIfNeeded: old))
        s &+= (new >> 16) &+ (new & 0xFFFF)
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        return ~UInt16(truncatingIfNeeded: s)
    }
}
