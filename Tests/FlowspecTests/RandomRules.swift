import Packets
import Rules
import Traffic

/// Seeded rules over every field Flowspec carries, and packets whose values often hit them:
/// the round trips compare what a router would match with what Holon matches.
struct RandomRules {
    var rng: SplitMix64

    init(state: UInt64) { rng = SplitMix64(seed: state) }

    mutating func next() -> UInt64 { rng.next() }

    mutating func pick<T>(_ xs: [T]) -> T { xs[Int(next() % UInt64(xs.count))] }

    static let ports: [UInt64] = [53, 80, 443, 1023, 1024, 40000, 49152, 65535]
    static let lengths: [UInt64] = [40, 64, 65, 128, 129, 600, 1500, 1501]

    mutating func rule(id: UInt32, details: Bool = false) -> Rule {
        let base: UInt32 = 0xC633_6400   // 198.51.100.0
        let len = pick([32, 30, 29] as [UInt8])
        var ps: [Predicate] = [.prefix(.dstIP, .v4(base | UInt32(next() % 8)), length: len)]
        let choices: [(inout RandomRules) -> Predicate] = [
            { r in .equals(.proto, r.pick([6, 17, 1])) },
            { r in .equals(.dstPort, r.pick(Self.ports)) },
            { r in let a = r.pick(Self.ports), b = r.pick(Self.ports); return .range(.srcPort, min(a, b)...max(a, b)) },
            { r in .equals(.srcPortBand, r.next() % 3) },
            { r in let a = r.next() % 3, b = r.next() % 3; return .range(.dstPortBand, min(a, b)...max(a, b)) },
            { r in .equals(.tcpFlags, r.pick([0x02, 0x12, 0x10, 0x04, 0x00])) },
            { r in .mask(.tcpFlags, mask: 0x12, value: r.pick([0x02, 0x10, 0x12, 0x00])) },
            { r in .equals(.icmpType, r.pick([0, 8])) },
            { r in .equals(.icmpCode, r.pick([0, 1])) },
            { r in let a = r.pick(Self.lengths), b = r.pick(Self.lengths); return .range(.ipLen, min(a, b)...max(a, b)) },
            { r in .equals(.sizeClass, r.next() % 7) },
            { r in let a = r.next() % 7, b = r.next() % 7; return .range(.sizeClass, min(a, b)...max(a, b)) },
            { r in .equals(.dscp, r.pick([0, 10, 46])) },
            { r in .equals(.df, r.next() % 2) },
            { r in r.next() % 2 == 0 ? .equals(.fragOffset, 0) : .range(.fragOffset, 1...0x1FFF) },
            { r in .prefix(.srcIP, .v4(0x0A00_0000 | UInt32(r.next() % 4) << 8), length: 24) },
        ]
        var used = Set<Int>()
        for _ in 0..<(1 + Int(next() % 4)) {
            let i = Int(next() % UInt64(choices.count))
            // One predicate per Flowspec type keeps the rule's meaning one AND chain per type.
            guard used.insert(i).inserted else { continue }
            ps.append(choices[i](&self))
        }
        // As the detector writes them: now and then a header detail Flowspec has no field for.
        if details && next() % 3 == 0 {
            ps.append(next() % 2 == 0 ? .equals(.ttl, UInt64(next() % 255)) : .equals(.tcpWindow, pick([0, 1024, 64_240])))
        }
        let action: Action = next() % 2 == 0 ? .drop : .rateLimit(pps: 100 + next() % 10_000, burst: nil)
        return Rule(id: id, match: ps, action: action)
    }

    mutating func packet() -> PacketFeatures {
        var f = PacketFeatures()
        f.ipVersion = 4
        f.proto = pick([6, 17, 1])
        f.srcIP = .v4(0x0A00_0000 | UInt32(next() % 4) << 8 | UInt32(next() % 4))
        f.dstIP = .v4(0xC633_6400 | UInt32(next() % 8))
        f.fragOffset = pick([0, 0, 0, 5])
        f.mf = next() % 4 == 0
        f.hasTransportHeader = f.fragOffset == 0
        f.srcPort = UInt16(pick(Self.ports))
        f.dstPort = UInt16(pick(Self.ports))
        f.tcpFlags = pick([0x02, 0x12, 0x10, 0x04, 0x00, 0x18])
        f.icmpType = pick([0, 8])
        f.icmpCode = pick([0, 1])
        f.ipLen = UInt32(pick(Self.lengths))
        f.dscp = pick([0, 10, 46])
        f.df = next() % 2 == 0
        f.ttl = UInt8(next() % 255)
        return f
    }
}
