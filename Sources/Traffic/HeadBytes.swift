import Packets

/// A payload head being composed on the stack: protocol fields are appended in wire order, and
/// ``head(payload:)`` cuts it to what a parser would capture from a payload of that length.
///
/// Why not an array: every synthesized packet gets a head, and the scenario stream allocates
/// nothing per packet. Bytes written past ``PayloadHead/capacity`` are dropped (the head is all a
/// frame carries beyond zeros; see ``PacketSynthesis``).
struct HeadBytes {
    var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes written so far (at most the capacity).
    var count = 0

    @inline(__always)
    mutating func u8(_ v: UInt8) {
        guard count < PayloadHead.capacity else { return }
        let i = count
        withUnsafeMutableBytes(of: &words) { $0[i] = v }
        count = i + 1
    }

    @inline(__always)
    mutating func be16(_ v: UInt16) {
        u8(UInt8(truncatingIfNeeded: v >> 8)); u8(UInt8(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func be32(_ v: UInt32) {
        be16(UInt16(truncatingIfNeeded: v >> 16)); be16(UInt16(truncatingIfNeeded: v))
    }

    @inline(__always)
    mutating func be64(_ v: UInt64) {
        be32(UInt32(truncatingIfNeeded: v >> 32)); be32(UInt32(truncatingIfNeeded: v))
    }

    /// Appends `bytes` (as many as fit).
    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { if count == PayloadHead.capacity { return }; u8(b) }
    }

    /// Fills the rest of the head with random bytes (encrypted or compressed data looks so).
    @inline(__always)
    mutating func randomRest(_ rng: inout TrafficRandom) {
        while count < PayloadHead.capacity {
            var w = rng.next()
            for _ in 0..<8 where count < PayloadHead.capacity {
                u8(UInt8(truncatingIfNeeded: w))
                w >>= 8
            }
        }
    }

    /// The head a parser captures from a payload of `payload` bytes that starts with what was
    /// written: the first min(capacity, payload) bytes, zeros past what was written.
    @inline(__always)
    func head(payload: Int) -> PayloadHead {
        let n = min(max(0, payload), PayloadHead.capacity)
        guard n > 0 else { return PayloadHead() }
        return withUnsafeBytes(of: words) { PayloadHead(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
    }
}

extension PayloadHead {
    /// The head of a zero-filled payload of `payload` bytes.
    @inline(__always)
    static func zeros(payload: Int) -> PayloadHead { HeadBytes().head(payload: payload) }
}
