import Packets

/// Little-endian writing of a snapshot's values (the format is the same on every machine).
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { int(v) }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func i64(_ v: Int64) { int(v) }
    mutating func f64(_ v: Double) { int(v.bitPattern) }
    mutating func f32(_ v: Float) { int(v.bitPattern) }
    mutating func append(_ b: [UInt8]) { bytes += b }

    private mutating func int<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Overwrites 8 bytes at `offset` (a length known only once the payload is written).
    mutating func patchU64(_ v: UInt64, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    mutating func address(_ a: IPAddress) {
        switch a {
        case .v4(let x): u8(4); u32(x)
        case .v6(let hi, let lo): u8(6); u64(hi); u64(lo)
        }
    }
}

/// Reading what ``ByteWriter`` wrote, bounds-checked: running out of bytes is an error naming
/// the offset, never a crash.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from start: Int, to end: Int) {
        self.bytes = bytes
        offset = start
        self.end = end
    }

    var remaining: Int { end - offset }

    mutating func u8() throws(SnapshotError) -> UInt8 { try int() }
    mutating func u16() throws(SnapshotError) -> UInt16 { try int() }
    mutating func u32() throws(SnapshotError) -> UInt32 { try int() }
    mutating func u64() throws(SnapshotError) -> UInt64 { try int() }
    mutating func i64() throws(SnapshotError) -> Int64 { try int() }
    mutating func f64() throws(SnapshotError) -> Double { Double(bitPattern: try int()) }
    mutating func f32() throws(SnapshotError) -> Float { Float(bitPattern: try int()) }

    private mutating func int<T: FixedWidthInteger>() throws(SnapshotError) -> T {
        let n = MemoryLayout<T>.size
        guard remaining >= n else { throw .malformed("payload ends at byte \(end), reading \(n) bytes at \(offset)") }
        var v: T = 0
        for i in 0..<n { v |= T(bytes[offset + i]) << (8 * i) }
        offset += n
        return v
    }

    /// A count of items of at least `minSize` bytes each: refused before anything is allocated
    /// when the rest of the payload could not hold them.
    mutating func count(of what: String, minSize: Int, limit: Int) throws(SnapshotError) -> Int {
        let n = Int(try u32())
        guard n <= limit else { throw .malformed("\(n) \(what), more than the limit \(limit)") }
        guard n * minSize <= remaining else { throw .malformed("\(n) \(what) cannot fit in the \(remaining) bytes left at byte \(offset)") }
        return n
    }

    mutating func address() throws(SnapshotError) -> IPAddress {
        let at = offset
        switch try u8() {
        case 4: return .v4(try u32())
        case 6: return .v6(high: try u64(), low: try u64())
        case let tag: throw .malformed("address of kind \(tag) at byte \(at)")
        }
    }
}
