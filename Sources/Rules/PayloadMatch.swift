import Packets

/// A byte predicate: `mask`ed bytes of the transport payload at `offset` equal `value`.
///
/// The payload is what ``PacketFeatures/payload`` holds the head of: the bytes after the
/// TCP/UDP/ICMP header, up to the IP packet's end. The predicate is false on a packet without
/// such a header (a non-first fragment: its bytes are the middle of a datagram, not a payload
/// start) and on one whose payload ends before `offset + value.count`, whatever the mask (a zero
/// mask still asks that the bytes be there).
///
/// Text: `(bytes payload OFFSET "HEX" [:mask "HEX"])`; JSON `{"op": "bytes", "anchor": "payload",
/// "offset": N, "value": "hex", "mask": "hex"}`.
public struct PayloadMatch: Hashable, Sendable {
    /// Largest first offset a predicate may name.
    public static let maxOffset = 256
    /// Longest run of bytes one predicate compares.
    public static let maxLength = 64
    /// The payload bytes a table of byte predicates can reach: the XDP program copies this much.
    public static let maxEnd = maxOffset + maxLength

    /// Where offsets count from, as the text and JSON name it. The only anchor: the payload.
    public static let anchor = "payload"

    public let offset: Int
    /// Already masked (`value[i] & ~mask[i] == 0`, checked by ``validate()``).
    public let value: [UInt8]
    /// One byte per value byte; 0xff compares the byte whole.
    public let mask: [UInt8]

    /// `value` compared whole when `mask` is nil.
    public init(offset: Int, value: [UInt8], mask: [UInt8]? = nil) {
        self.offset = offset
        self.value = value
        self.mask = mask ?? [UInt8](repeating: 0xff, count: value.count)
    }

    /// First payload byte past the compared run.
    public var end: Int { offset + value.count }

    /// True when no byte is partly masked.
    public var isWholeBytes: Bool { mask.allSatisfy { $0 == 0xff } }

    public func validate() throws(RuleValidationError) {
        guard (1...Self.maxLength).contains(value.count) else { throw .payloadLength(value.count) }
        guard mask.count == value.count else { throw .payloadMaskLength(mask: mask.count, value: value.count) }
        guard (0...Self.maxOffset).contains(offset) else { throw .payloadOffset(offset) }
        for i in value.indices where value[i] & ~mask[i] != 0 {
            throw .maskValueOutsideMask(mask: UInt64(mask[i]), value: UInt64(value[i]))
        }
    }

    /// The reference meaning on the payload's bytes (the whole payload, or any prefix of it that
    /// reaches `end`; a shorter one is a packet without these bytes).
    public func matches(payload: UnsafeRawBufferPointer) -> Bool {
        guard offset >= 0, payload.count >= end, mask.count == value.count else { return false }
        for i in value.indices where payload[offset + i] & mask[i] != value[i] { return false }
        return true
    }

    /// On features: the payload head. A run past the head (``PayloadHead/capacity``) cannot be
    /// seen there and does not match; the data plane, reading the packet, sees it.
    public func matches(_ f: PacketFeatures) -> Bool {
        guard f.hasTransportHeader, Int(f.payloadLen) >= end else { return false }
        return f.payload.withBytes { matches(payload: $0) }
    }

    /// Lowercase hex, two digits a byte.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of an even-length hex string (either case), or nil.
    public static func bytes(hex s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            guard let h = nibble(u[i]), let l = nibble(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    /// The printable form a person can read beside the hex: ASCII where every byte is printable.
    public var ascii: String? {
        guard isWholeBytes, value.allSatisfy({ (0x20...0x7e).contains($0) }) else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
