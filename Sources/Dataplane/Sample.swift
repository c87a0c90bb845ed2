import CHolonXDP
import Packets
import Rules

/// What the filter did to a sampled packet.
public enum SampleVerdict: UInt8, Sendable, Codable, CustomStringConvertible {
    case pass = 0, drop = 1, rateLimited = 2, counted = 3, allowlisted = 4, unparsed = 5

    /// The reference matcher's decision, for verdicts it can produce.
    public var decision: Verdict.Decision? { Verdict.Decision(rawValue: rawValue) }

    public var description: String {
        ["pass", "drop", "rate-limited", "counted", "allowlisted", "unparsed"][Int(rawValue)]
    }
}

/// One packet sampled by the XDP program: when, what was decided, and the packet's fields.
public struct DataplaneSample: Sendable, Hashable {
    /// Nanoseconds since the Unix epoch (the kernel stamps CLOCK_TAI; converted on read).
    public var timestamp: UInt64
    public var wireLength: UInt32
    public var verdict: SampleVerdict
    /// The winning rule, nil when none matched.
    public var ruleID: UInt32?
    /// Observe mode: the verdict is a drop that was not enforced.
    public var observed: Bool
    /// The first bytes of the frame (up to 256): kept when the reader was opened to keep them
    /// (`holon capture`) or the sample was made by hand; empty otherwise.
    public var bytes: [UInt8]
    /// The fields parsed from the ring's memory as the sample was read, or why they could not
    /// be: the loop's samples reach the detector without a copy of their bytes.
    private var parsed: Result<PacketFeatures, PacketParseError>?

    /// The packet's fields, as the detector and the reference matcher see them.
    public func features() throws(PacketParseError) -> PacketFeatures {
        if let parsed { return try parsed.get() }
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        defer { b.deallocate() }
        b.copyBytes(from: bytes)
        return try PacketParser.features(UnsafeRawBufferPointer(b), timestamp: timestamp, wireLength: Int(wireLength))
    }

    /// A sample made by hand (``ReferenceFilter``, tests).
    public init(timestamp: UInt64, wireLength: UInt32, verdict: SampleVerdict, ruleID: UInt32?, observed: Bool = false, bytes: [UInt8]) {
        self.timestamp = timestamp
        self.wireLength = wireLength
        self.verdict = verdict
        self.ruleID = ruleID
        self.observed = observed
        self.bytes = Array(bytes.prefix(Int(HOLON_SAMPLE_BYTES)))
    }

    /// A sample read from the ring: parsed in place; its bytes copied only when `keepingBytes`.
    init(_ raw: UnsafeRawPointer, size: Int, taiOffset: Int64, keepingBytes: Bool) {
        let s = raw.loadUnaligned(as: holon_sample.self)
        timestamp = UInt64(bitPattern: Int64(bitPattern: s.timestamp) &- taiOffset)
        wireLength = s.wire_len
        verdict = SampleVerdict(rawValue: s.verdict) ?? .pass
        ruleID = s.flags & UInt8(HOLON_SAMPLE_MATCHED) != 0 ? s.rule_id : nil
        observed = s.flags & UInt8(HOLON_SAMPLE_OBSERVED) != 0
        let dataOffset = MemoryLayout<holon_sample>.offset(of: \holon_sample.data)!
        let n = min(Int(s.cap_len), Int(HOLON_SAMPLE_BYTES), max(0, size - dataOffset))
        let frame = UnsafeRawBufferPointer(start: raw + dataOffset, count: n)
        bytes = keepingBytes ? Array(frame) : []
        do {
            parsed = .success(try PacketParser.features(frame, timestamp: timestamp, wireLength: Int(wireLength)))
        } catch {
            parsed = .failure(error)
        }
    }
}
