import Packets
import Rules

/// Finds the bytes an attack's payloads share and normal payloads never carry.
///
/// 1. Per position of the payload head, the byte most of the recent packets carry there; a
///    position is constant when ≥ ``constantShare`` of the group carry it.
/// 2. The vectors decide: the pair `payload@i ⊗ byte` must have gained presence in the recent
///    payloads over the baseline's (``PayloadVectors``) — a byte normal traffic already carries
///    there (a protocol's version field, zero padding) did not.
/// 3. Consecutive positions that pass form runs; the longest run (≤ ``maxSpan``) is the marker.
///    Longer is safer: each byte more is a byte a real payload must also have to be hit.
/// 4. Exact check: the span must match none of the baseline reservoir's packets (never a byte
///    rule that matches normal traffic) and cover ≥ ``minCoverage`` of the recent group.
struct PayloadDeriver {
    /// Normal traffic goes on during an attack, so the group is part attack: a marker is the
    /// byte most packets carry, and the rule must cover most of the group.
    static let constantShare = 0.5
    static let minCoverage = 0.5
    /// Bytes of marker kept (two 8-byte windows in the XDP classifier).
    static let maxSpan = 16
    /// Shortest run taken for a marker: a lone constant byte is a coincidence as often as a tool.
    static let minSpan = 2
    /// Presence the recent payloads must gain over the baseline's, in the presence's units (a
    /// byte in every packet of a 12-byte head scores ≈ 0.2; noise at d = 1024 over hundreds of
    /// packets is ≈ 0.01).
    static let minJump = 0.03

    struct Found {
        let match: PayloadMatch
        /// Share of the group the span matches.
        let coverage: Double
        /// Baseline packets it matches (always 0 when returned) out of how many.
        let baselineChecked: Int
        /// Presence (baseline → recent) of the span's first byte, for the explanation.
        let presence: (recent: Double, baseline: Double)
    }

    let reservoir: [PacketFeatures]
    let presence: (Int, UInt8) -> (recent: Double, baseline: Double)

    /// Whether the baseline knows what its payloads look like: at most 1 % of its packets that
    /// carry a payload came without its head (a baseline restored from a version-1 snapshot has
    /// none until adaptation has replaced its packets). A byte rule checked against payloads
    /// nobody saw would be checked against nothing.
    var baselineKnowsPayloads: Bool {
        var carrying = 0, unknown = 0
        for f in reservoir where f.hasTransportHeader && f.payloadLen > 0 {
            carrying += 1
            if f.payload.count == 0 { unknown += 1 }
        }
        return unknown * 100 <= carrying
    }

    func derive(from group: [PacketFeatures]) -> Found? {
        guard baselineKnowsPayloads else { return nil }
        let packets = group.filter { $0.hasTransportHeader && $0.payload.count > 0 }
        guard packets.count >= 16, Double(packets.count) >= Self.minCoverage * Double(group.count) else { return nil }
        let width = packets.map(\.payload.count).max() ?? 0
        var constant: [UInt8?] = Array(repeating: nil, count: width)
        var jumps: [Int: (recent: Double, baseline: Double)] = [:]
        var counts = [Int](repeating: 0, count: 256)
        for i in 0..<width {
            for k in counts.indices { counts[k] = 0 }
            var long = 0
            for f in packets where f.payload.count > i {
                counts[Int(f.payload[i])] += 1
                long += 1
            }
            guard long > 0, let best = counts.indices.max(by: { counts[$0] < counts[$1] }) else { continue }
            guard Double(counts[best]) >= Self.constantShare * Double(packets.count) else { continue }
            let p = presence(i, UInt8(best))
            guard p.recent - p.baseline >= Self.minJump, p.recent > 2 * p.baseline else { continue }
            constant[i] = UInt8(best)
            jumps[i] = p
        }
        // Runs of constant positions, longest first (earliest on ties).
        var runs: [Range<Int>] = []
        var start: Int?
        for i in 0...width {
            if i < width, constant[i] != nil {
                if start == nil { start = i }
            } else if let s = start {
                runs.append(s..<i)
                start = nil
            }
        }
        runs.sort { $0.count != $1.count ? $0.count > $1.count : $0.lowerBound < $1.lowerBound }
        for run in runs where run.count >= Self.minSpan {
            let span = run.lowerBound..<min(run.upperBound, run.lowerBound + Self.maxSpan)
            let match = PayloadMatch(offset: span.lowerBound, value: span.map { constant[$0]! })
            let covered = group.reduce(0) { $0 + (match.matches($1) ? 1 : 0) }
            let coverage = Double(covered) / Double(group.count)
            guard coverage >= Self.minCoverage else { continue }
            guard !reservoir.contains(where: match.matches) else { continue }
            return Found(match: match, coverage: coverage, baselineChecked: reservoir.count, presence: jumps[span.lowerBound]!)
        }
        return nil
    }
}
