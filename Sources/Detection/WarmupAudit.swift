import Packets
import Rules

/// Something the warmup held that has the shape of an attack (issue 14 §2): reported at
/// calibration, left out of the baseline, and opened as an incident right away.
public struct WarmupFinding: Sendable, CustomStringConvertible {
    /// The attack the shape is named for in the codebook (``AttackNamer``).
    public let name: String
    /// Share of the warmup's samples it made up.
    public let share: Double
    /// What the shape is, in rule terms.
    public let shape: String

    public var description: String { String(format: "%@ (%@) was %.0f%% of the warmup", name, shape, share * 100) }
}

/// Looks through the warmup's packets (the baseline's reservoir, a uniform sample of them) for
/// attack shapes the codebook knows, before they become normal.
///
/// Shapes, from what the codebook says an attack is:
/// - a **reflection**: UDP from a reflecting service's port (``AttackNamer/reflectors``) in
///   replies larger than the requests that port answers (> 256-byte IP packets: chargen, DNS
///   ANY, NTP monlist, memcached replies; an ordinary DNS answer or NTP reply is smaller);
/// - a **fragment flood**: non-first fragments, which no protocol of normal traffic sends much of.
///
/// Either is only a finding when it is a large part of the warmup (``dominantShare``): a few
/// large DNS answers or fragments are normal, and the baseline keeps them. An attack already
/// running is what fills a warmup with one shape.
struct WarmupAudit {
    /// A shape is an attack already running when it is at least this share of the warmup's
    /// samples: a reflection at a quarter of the rest of the traffic's rate, or more.
    static let dominantShare = 0.2

    struct Shape: Sendable {
        let name: String
        let text: String
        /// The reflecting service's port, for reflections.
        var port: UInt64? = nil
        let matches: @Sendable (PacketFeatures) -> Bool
    }

    static let shapes: [Shape] = {
        var out = AttackNamer.reflectors.sorted { $0.key < $1.key }.map { port, name in
            Shape(name: name, text: "udp src_port \(port), > 256 bytes", port: port) { f in
                f.proto == 17 && f.hasPorts && UInt64(f.srcPort) == port && f.sizeClass.rawValue >= SizeClass.large.rawValue
            }
        }
        out.append(Shape(name: "fragment-flood", text: "non-first fragments") { $0.fragOffset != 0 })
        return out
    }()

    /// The shapes that dominate `packets`, with their share and a test for the packets to leave
    /// out of the baseline: the shape's, and for a reflection everything the reflectors sent
    /// from that port (their short replies too — a chargen line, a small DNS answer — are the
    /// attack, while a resolver that only ever answered small stays normal).
    static func findings(in packets: [PacketFeatures]) -> [(finding: WarmupFinding, exclude: @Sendable (PacketFeatures) -> Bool)] {
        guard !packets.isEmpty else { return [] }
        return shapes.compactMap { s in
            let hits = packets.filter(s.matches)
            let share = Double(hits.count) / Double(packets.count)
            guard share >= dominantShare else { return nil }
            let finding = WarmupFinding(name: s.name, share: share, shape: s.text)
            guard let port = s.port else { return (finding, s.matches) }
            let reflectors = Set(hits.map(\.srcIP))
            let shape = s.matches
            return (finding, { f in
                shape(f) || (f.proto == 17 && f.hasPorts && UInt64(f.srcPort) == port && reflectors.contains(f.srcIP))
            })
        }
    }
}
