import Holon
import Packets

/// Names an attack by the prototype its packets resemble most. A label for people: rules never
/// depend on it.
struct AttackNamer {
    let book: Codebook

    /// A partial packet: the fields that characterise a kind of attack.
    struct Prototype: Walkable {
        let fields: [(FieldName, Int)]
        func walk<V: WalkVisitor>(into v: inout V) {
            for (f, x) in fields { v.visit(f, x) }
        }
    }

    init(encoder: inout VectorEncoder) {
        typealias F = PacketFeatures.Field
        let prototypes: [(String, [(FieldName, Int)])] = [
            ("syn-flood", [(F.proto, 6), (F.tcpFlags, 0x02)]),
            ("ack-flood", [(F.proto, 6), (F.tcpFlags, 0x10)]),
            ("rst-flood", [(F.proto, 6), (F.tcpFlags, 0x04)]),
            ("dns-reflection", [(F.proto, 17), (F.srcPort, 53), (F.srcPortBand, 0)]),
            ("ntp-amplification", [(F.proto, 17), (F.srcPort, 123), (F.srcPortBand, 0)]),
            ("udp-flood", [(F.proto, 17), (F.dstPortBand, 1), (F.srcPortBand, 1)]),
            ("icmp-flood", [(F.proto, 1), (F.icmpType, 8), (F.icmpCode, 0)]),
            ("fragment-flood", [(DetectorRecord.fragment, 2), (DetectorRecord.fragment, 2)]),
        ]
        var book = Codebook(dimension: encoder.dimension)
        for (name, fields) in prototypes { book.set(name, encoder.encode(Prototype(fields: fields))) }
        self.book = book
    }

    func name(_ attack: Accumulator) -> String {
        guard attack.count > 0, let best = book.cleanup(attack.thresholded(), top: 1).first, best.similarity > 0.05 else {
            return "unknown"
        }
        return best.name
    }
}
