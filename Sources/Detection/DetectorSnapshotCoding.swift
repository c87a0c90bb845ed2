import Packets

/// The binary form of a ``DetectorSnapshot``, little-endian throughout:
///
/// ```
/// offset  size  field
///      0     8  magic "HOLNBASE"
///      8     2  format version (3; 1 and 2 are still read)
///     10     2  reserved, 0
///     12     8  payload length L
///     20     L  payload (below)
///   20+L     8  FNV-1a-64 of bytes 0 ..< 20+L
/// ```
///
/// Payload, version 1: dimension u32, seed u64, sampling rate u32, tick ns u64, half-life ns
/// u64, encoding fingerprint u64; saved-at ns i64; open and close thresholds f64; accumulator
/// weight f64, vector count u64, norm f64, `dimension` sums f32; samples u64, has-first u8, first
/// and last timestamps u64, sample rate f64; drift count u64, mean, m2, max f64; sampler state
/// 4 × u64; reservoir count u32 then packets (``ByteWriter/packet(_:)``; version 2 adds each
/// packet's payload head: count u8 then that many bytes); source count u32 then
/// addresses (kind u8 4|6, then 4 or 16 bytes); version 3 adds the attack memory
/// (``ByteWriter/attack(_:)``). The header never changes between versions, so any build can say
/// which version a file is.
extension DetectorSnapshot {
    static let magic: [UInt8] = Array("HOLNBASE".utf8)
    static let headerSize = 20
    static let checksumSize = 8
    /// Larger than any baseline (~25 MB with a full source set): a bigger file is not one.
    static let maxFileSize = 512 << 20

    /// The snapshot as bytes, ready for a file.
    public func encoded() -> [UInt8] { encoded(version: Self.formatVersion) }

    /// The snapshot in an older readable version (tests of what an older build wrote).
    func encoded(version: UInt16) -> [UInt8] {
        var w = ByteWriter(capacity: Self.headerSize + 64 + 4 * dimension + 60 * reservoir.count + 9 * sources.count + 8)
        w.append(Self.magic)
        w.u16(version)
        w.u16(0)
        w.u64(0)
        w.u32(UInt32(dimension))
        w.u64(seed)
        w.u32(UInt32(samplingRate))
        w.u64(tickNs)
        w.u64(halfLifeNs)
        w.u64(encodingFingerprint)
        w.i64(savedAtNanoseconds)
        w.f64(openThreshold)
        w.f64(closeThreshold)
        w.f64(weight)
        w.u64(UInt64(vectorCount))
        w.f64(baselineNorm)
        for s in sums { w.f32(s) }
        w.u64(UInt64(samples))
        w.u8(firstTimestamp == nil ? 0 : 1)
        w.u64(firstTimestamp ?? 0)
        w.u64(lastTimestamp)
        w.f64(sampleRate)
        w.u64(UInt64(drift.count))
        w.f64(drift.mean)
        w.f64(drift.m2)
        w.f64(drift.max)
        for s in rngState { w.u64(s) }
        w.u32(UInt32(reservoir.count))
        for f in reservoir { w.packet(f, withPayload: version >= 2) }
        w.u32(UInt32(sources.count))
        // Sorted: the same baseline always gives the same bytes.
        for a in sources.sorted() { w.address(a) }
        if version >= 3 {
            let stored = attacks.filter(\.isStorable)
            w.u32(UInt32(stored.count))
            for e in stored { w.attack(e) }
        }
        w.patchU64(UInt64(w.bytes.count - Self.headerSize), at: 12)
        w.u64(FNV1a64.hash(w.bytes))
        return w.bytes
    }

    /// Reads a snapshot back. Throws, never traps, on anything but a whole, intact snapshot of
    /// this format version: the error says what is wrong (``SnapshotError``). Whether it suits
    /// a detector is a separate question (``compatibility(with:)``).
    public init(decoding bytes: [UInt8]) throws(SnapshotError) {
        let n = bytes.count
        guard bytes.prefix(Self.magic.count).elementsEqual(Self.magic.prefix(min(n, Self.magic.count))) else {
            throw .notASnapshot
        }
        guard n >= Self.headerSize else { throw .truncated(at: n, expected: Self.headerSize + Self.checksumSize) }
        var h = ByteReader(bytes, from: Self.magic.count, to: Self.headerSize)
        let version = try h.u16()
        guard Self.readableVersions.contains(version) else { throw .unsupportedVersion(version) }
        _ = try h.u16()
        let declared = try h.u64()
        guard declared <= UInt64(Self.maxFileSize) else { throw .malformed("payload length \(declared) is more than any baseline") }
        let total = Self.headerSize + Int(declared) + Self.checksumSize
        guard n >= total else { throw .truncated(at: n, expected: total) }
        guard n == total else { throw .lengthMismatch(declared: total, actual: n) }
        let end = Self.headerSize + Int(declared)
        var c = ByteReader(bytes, from: end, to: n)
        let stored = try c.u64()
        let computed = FNV1a64.hash(bytes[..<end])
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }

        var r = ByteReader(bytes, from: Self.headerSize, to: end)
        let dimension = Int(try r.u32())
        guard dimension > 0 else { throw .malformed("dimension 0") }
        let seed = try r.u64()
        let samplingRate = Int(try r.u32())
        guard samplingRate > 0 else { throw .malformed("sampling rate 0") }
        let tickNs = try r.u64(), halfLifeNs = try r.u64(), fingerprint = try r.u64()
        let savedAt = try r.i64()
        let open = try r.f64(), close = try r.f64()
        guard open.isFinite, close.isFinite, open > 0, close > 0 else { throw .malformed("thresholds \(open), \(close)") }
        let weight = try r.f64()
        let vectorCount = Int(try r.u64() & 0x7FFF_FFFF_FFFF_FFFF)
        let norm = try r.f64()
        guard weight.isFinite, weight > 0, norm.isFinite, norm > 0 else { throw .malformed("accumulator weight \(weight), norm \(norm)") }
        guard dimension * 4 <= r.remaining else { throw .malformed("\(dimension) sums cannot fit in the \(r.remaining) bytes left") }
        var sums = [Float](repeating: 0, count: dimension)
        for i in 0..<dimension {
            sums[i] = try r.f32()
            guard sums[i].isFinite else { throw .malformed("sum \(i) is \(sums[i])") }
        }
        let samples = Int(try r.u64() & 0x7FFF_FFFF_FFFF_FFFF)
        let hasFirst = try r.u8()
        let first = try r.u64(), last = try r.u64()
        let rate = try r.f64()
        guard rate.isFinite, rate >= 0 else { throw .malformed("sample rate \(rate)") }
        let driftCount = Int(try r.u64() & 0x7FFF_FFFF_FFFF_FFFF)
        let drift = RunningStats(count: driftCount, mean: try r.f64(), m2: try r.f64(), max: try r.f64())
        let rng = [try r.u64(), try r.u64(), try r.u64(), try r.u64()]
        let reservoirCount = try r.count(of: "reservoir packets", minSize: ByteReader.minPacketSize, limit: 1 << 24)
        var reservoir: [PacketFeatures] = []
        reservoir.reserveCapacity(reservoirCount)
        for _ in 0..<reservoirCount { reservoir.append(try r.packet(withPayload: version >= 2)) }
        let sourceCount = try r.count(of: "sources", minSize: 5, limit: Baseline.maxSources)
        var sources = Set<IPAddress>(minimumCapacity: sourceCount)
        for _ in 0..<sourceCount { sources.insert(try r.address()) }
        var attacks: [AttackMemory.Entry] = []
        if version >= 3 {
            let n = try r.count(of: "remembered attacks", minSize: ByteReader.minAttackSize + 4 * dimension, limit: AttackMemory.capacity)
            for _ in 0..<n { attacks.append(try r.attack(dimension: dimension)) }
        }
        guard r.remaining == 0 else { throw .malformed("\(r.remaining) bytes after the last field") }
        self.init(savedAtNanoseconds: savedAt, dimension: dimension, seed: seed, samplingRate: samplingRate, tickNs: tickNs,
                  halfLifeNs: halfLifeNs, encodingFingerprint: fingerprint, openThreshold: open, closeThreshold: close,
                  sums: sums, weight: weight, vectorCount: vectorCount, baselineNorm: norm,
                  samples: samples, firstTimestamp: hasFirst != 0 ? first : nil, lastTimestamp: last, sampleRate: rate,
                  drift: drift, rngState: rng, reservoir: reservoir, sources: sources, attacks: attacks)
    }
}
