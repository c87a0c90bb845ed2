/// The first bytes of a packet's transport payload, held inline so that ``PacketFeatures``
/// stays a plain value (no allocation, no reference counting on the per-packet path).
///
/// The payload starts after the TCP/UDP/ICMP header, or after the IP headers when there is none
/// (a non-first fragment, GRE, ESP), and ends at the IP packet's end (Ethernet padding excluded),
/// as ``PacketFeatures/payloadLen`` counts it. `count` is how many of its first
/// ``capacity`` bytes were captured: fewer than `payloadLen` when the payload is longer than the
/// head or the capture cut the frame short.
///
/// Why a head and not the whole payload: the detector derives byte predicates inside it, and
/// reference evaluation on features (demo scoring, the guardrail's baseline check) reads it; the
/// XDP program and ``Rules`` matching on raw bytes see the whole payload.
public struct PayloadHead: Hashable, Sendable {
    /// Bytes held: enough for a tool's magic, a protocol's fixed header, a query's start.
    public static let capacity = 64

    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes captured, 0…``capacity``.
    @usableFromInline var _count: Int = 0
    public var count: Int { _count }

    @inlinable public init() {}

    /// The head of `bytes` (its first ``capacity`` bytes).
    @inlinable
    public init(_ bytes: UnsafeRawBufferPointer) {
        capture(bytes)
    }

    /// Takes the head of `bytes` in place (the parser's per-packet path: no temporary head to
    /// zero and copy over, and word moves instead of a memcpy call). Bytes past ``count`` keep
    /// whatever they held: nothing reads them (equality, hashing and ``withBytes`` stop at
    /// `count`).
    @inlinable
    public mutating func capture(_ bytes: UnsafeRawBufferPointer) {
        let n = min(bytes.count, Self.capacity)
        _count = n
        guard n > 0, let src = bytes.baseAddress else { return }
        withUnsafeMutableBytes(of: &words) { dst in
            let d = dst.baseAddress!
            if n >= 8 {
                var i = 0
                while i &+ 8 <= n {
                    d.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
                    i &+= 8
                }
                // The tail as one word ending at n, overlapping bytes already copied.
                if i < n {
                    d.storeBytes(of: src.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), toByteOffset: n &- 8, as: UInt64.self)
                }
            } else {
                for i in 0..<n { d.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
            }
        }
    }

    public init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let a = Array(bytes.prefix(Self.capacity))
        self = a.withUnsafeBytes { PayloadHead($0) }
    }

    /// Byte `i` (0 ≤ i < count).
    @inlinable
    public subscript(i: Int) -> UInt8 {
        precondition(i >= 0 && i < count, "payload byte \(i) outside the \(count) captured")
        return withUnsafeBytes(of: words) { $0[i] }
    }

    /// The captured bytes.
    public var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0.prefix(count)) } }

    /// Calls `body` with the captured bytes, without copying them.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
    }

    public static func == (a: PayloadHead, b: PayloadHead) -> Bool {
        a.count == b.count && a.withBytes { x in b.withBytes { y in x.elementsEqual(y) } }
    }

    public func hash(into h: inout Hasher) {
        h.combine(count)
        withBytes { h.combine(bytes: $0) }
    }
}
