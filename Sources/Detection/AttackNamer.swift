import Holon
import Packets
import Rules

/// Names an attack by the prototype its packets resemble most. A label for people: rules never
/// depend on it.
///
/// Prototypes are example packets of each kind, encoded exactly as the detector encodes traffic
/// but keeping only the fields that characterise a kind (protocol, ports, flags, ICMP type,
/// fragmentation, size), so the example's addresses and TTL do not count.
struct AttackNamer {
    let book: Codebook

    /// The fields that say what kind an attack is.
    static let characteristic = FieldFilter.only(Set(
        [PacketField.proto, .srcPort, .dstPort, .srcPortBand, .dstPortBand, .tcpFlags, .icmpType, .icmpCode, .sizeClass]
            .map(\.fieldName)
    ).union([DetectorRecord.fragment]))

    static func example(proto: UInt8, src: UInt16 = 0, dst: UInt16 = 0, flags: UInt8 = 0, icmp: UInt8 = 0,
                        ipLen: UInt32, fragOffset: UInt16 = 0, mf: Bool = false) -> PacketFeatures {
        var f = PacketFeatures()
        f.proto = proto
        f.srcIP = .v4(0xC633_6401)
        f.dstIP = .v4(0xC633_640A)
        f.ipLen = ipLen
        f.fragOffset = fragOffset
        f.mf = mf
        f.hasTransportHeader = fragOffset == 0
        f.srcPort = src
        f.dstPort = dst
        f.tcpFlags = flags
        f.icmpType = icmp
        return f
    }

    init(encoder: inout VectorEncoder) {
        // A kind whose packets come in several shapes (a DNS response, fragmented or not) bundles
        // one example of each.
        let examples: [(String, [PacketFeatures])] = [
            ("syn-flood", [Self.example(proto: 6, src: 40000, dst: 80, flags: 0x02, ipLen: 40)]),
            ("ack-flood", [Self.example(proto: 6, src: 40000, dst: 80, flags: 0x10, ipLen: 40)]),
            ("rst-flood", [Self.example(proto: 6, src: 40000, dst: 80, flags: 0x04, ipLen: 40)]),
            ("dns-reflection", [Self.example(proto: 17, src: 53, dst: 40000, ipLen: 1500, mf: true),
                                Self.example(proto: 17, src: 53, dst: 40000, ipLen: 1400)]),
            ("ntp-amplification", [Self.example(proto: 17, src: 123, dst: 40000, ipLen: 496)]),
            ("udp-flood", [Self.example(proto: 17, src: 40000, dst: 30000, ipLen: 540)]),
            ("icmp-flood", [Self.example(proto: 1, icmp: 8, ipLen: 84)]),
            ("fragment-flood", [Self.example(proto: 17, ipLen: 1500, fragOffset: 185, mf: true)]),
        ]
        var book = Codebook(dimension: encoder.dimension)
        for (name, packets) in examples {
            book.set(name, Hypervector.bundle(packets.map { encoder.encode(FilteredRecord(packet: $0, filter: Self.characteristic)) }))
        }
        self.book = book
    }

    /// The closest prototypes to an attack's packets, best first.
    func candidates(_ attack: Accumulator) -> [Codebook.Match] {
        attack.count > 0 ? book.cleanup(attack, top: 3) : []
    }

    /// Services that answer a small request with a large reply, by UDP source port: what a
    /// reflection is named for.
    static let reflectors: [UInt64: String] = [
        19: "chargen-reflection", 53: "dns-reflection", 123: "ntp-amplification", 161: "snmp-reflection",
        389: "cldap-reflection", 1900: "ssdp-reflection", 3702: "ws-discovery-reflection",
        11211: "memcached-reflection",
    ]

    /// The name the incident's rules give it, when a field says what the attack is: a
    /// reflector's source port, TCP flags, an ICMP type, a payload marker, fragments — checked
    /// in that order over all its rules (a DNS reflection's rule for its fragments does not make
    /// it a fragment flood). nil when no rule says; the prototypes decide then.
    static func name(fromRules rules: [DetectedRule]) -> String? {
        let predicates = rules.flatMap(\.predicates)
        func equals(_ f: RuleField) -> UInt64? {
            predicates.lazy.compactMap { c -> UInt64? in
                if c.field == f, case .equals(let v) = c.kind { return v } else { return nil }
            }.first
        }
        let proto = equals(.proto)
        if proto == 17, let p = equals(.srcPort), let n = reflectors[p] { return n }
        if let flags = equals(.tcpFlags) {
            switch flags {
            case 0x02: return "syn-flood"
            case 0x12: return "syn-ack-reflection"
            case 0x10: return "ack-flood"
            case 0x04, 0x14: return "rst-flood"
            default: break
            }
        }
        if let t = equals(.icmpType) { return t == 0 || t == 129 ? "icmp-reply-flood" : "icmp-flood" }
        if predicates.contains(where: { if case .bytes = $0.kind { return true } else { return false } }) {
            return (proto == 6 ? "tcp" : proto == 17 ? "udp" : "ip") + "-marker-flood"
        }
        if predicates.contains(where: { $0.field == .fragOffset }) { return "fragment-flood" }
        return nil
    }

    func name(_ attack: Accumulator) -> String {
        guard let best = candidates(attack).first, best.similarity > 0.05 else { return "unknown" }
        return best.name
    }
}
