/// FNV-1a, 64-bit (Fowler, Noll, Vo): the checksum of a saved baseline. Not cryptographic — it
/// catches a torn write, a truncation or a flipped bit, which is what a file on a disk suffers;
/// it is small enough to be specified here and needs no package.
enum FNV1a64 {
    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    static func hash(_ bytes: ArraySlice<UInt8>, from start: UInt64 = offsetBasis) -> UInt64 {
        var h = start
        bytes.withUnsafeBufferPointer { p in
            for b in p {
                h ^= UInt64(b)
                h = h &* prime
            }
        }
        return h
    }

    static func hash(_ bytes: [UInt8]) -> UInt64 { hash(bytes[...]) }
}
