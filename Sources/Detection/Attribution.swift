import Holon
import Packets
import Rules

/// Attribution (DESIGN.md): how strongly a candidate `field=value` is present in the recent
/// accumulator and in the baseline's. The rule deriver asks it about every candidate the recent
/// samples propose; one the detector encodes is rule material only if it ``gained(_:)``
/// presence — the vectors decide (``RuleDeriver``, step 2).
///
/// Kept apart from ``Detector`` so the step can be checked on accumulators built by hand
/// (Tests/DetectionTests/AttributionTests.swift), not only through whole scenarios.
struct Attribution {
    let space: VectorSpace
    let recent: Accumulator
    let baseline: Accumulator

    /// Presence of the candidate's role–filler pair in the recent and the baseline accumulator;
    /// nil when the detector does not encode the candidate (``encodedPair(_:space:)``).
    func presence(_ c: Candidate) -> (recent: Double, baseline: Double)? {
        guard let pair = Self.encodedPair(c, space: space) else { return nil }
        return (recent.presence(of: pair), baseline.presence(of: pair))
    }

    /// Whether a candidate's presence rose from the baseline to the recent window.
    static func gained(_ p: (recent: Double, baseline: Double)) -> Bool { p.recent - p.baseline > 0 }

    /// The role–filler pair a candidate corresponds to in ``DetectorRecord``, if it is encoded.
    static func encodedPair(_ c: Candidate, space: VectorSpace) -> Hypervector? {
        switch (c.field, c.kind) {
        case (.srcPort, .equals(let v)), (.dstPort, .equals(let v)):
            return DetectorRecord.encodesExactly(port: v) ? space.pair(c.field.fieldName, .int(Int(v))) : nil
        case (.proto, .equals(let v)), (.dstIP, .equals(let v)), (.tcpFlags, .equals(let v)), (.ttl, .equals(let v)),
             (.df, .equals(let v)), (.sizeClass, .equals(let v)), (.tcpWindow, .equals(let v)),
             (.icmpType, .equals(let v)), (.icmpCode, .equals(let v)):
            return space.pair(c.field.fieldName, .int(Int(truncatingIfNeeded: v)))
        // The record carries one fragment value per packet: 0 whole, 1 first fragment, 2 later
        // fragment. Only "a later fragment" (frag_offset ≥ 1) is one of them. `mf = 1` is first
        // and middle fragments, `mf = 0` whole packets and last fragments: no pair measures
        // either, and reading `mf = 1` as "first fragment" found a flood of middle fragments,
        // every one with MF set, absent from the vectors. They are judged by the samples alone.
        case (.fragOffset, .range(1, PacketField.fragOffset.maxValue)): return space.pair(DetectorRecord.fragment, .int(2))
        case (.srcIP, .prefix(let net, 8)): return space.pair(DetectorRecord.srcPrefix8, .int(Int(net >> 24)))
        case (.dstIP, .address(let a)): return space.pair(c.field.fieldName, .int(a.fieldValue))
        default: return nil
        }
    }
}
