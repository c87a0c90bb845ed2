import Packets
import Rules

/// SplitMix64: a tiny seeded generator so random tests replay exactly.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func v4(_ s: String) -> IPAddress { IPAddress(s)! }

/// A packet with the fields tests care about.
func packet(
    proto: UInt8 = 17, src: String = "10.0.0.1", dst: String = "192.168.1.1",
    sport: UInt16 = 53, dport: UInt16 = 40000, flags: UInt8 = 0, ipLen: UInt32 = 100,
    transport: Bool = true, ts: UInt64 = 0
) -> PacketFeatures {
    var f = PacketFeatures()
    f.proto = proto
    f.srcIP = IPAddress(src)!
    f.dstIP = IPAddress(dst)!
    f.ipVersion = f.srcIP.isV4 ? 4 : 6
    f.srcPort = sport
    f.dstPort = dport
    f.tcpFlags = flags
    f.ipLen = ipLen
    f.hasTransportHeader = transport
    f.timestamp = ts
    f.ttl = 64
    return f
}

/// Random rules and packets over small value pools, so that matches are common.
struct RandomRules {
    var rng: SeededRNG

    init(seed: UInt64) { rng = SeededRNG(seed: seed) }

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func u64(_ r: ClosedRange<UInt64>) -> UInt64 { UInt64.random(in: r, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    static let v4Pool: [UInt32] = [0x0A00_0001, 0x0A00_0102, 0x0A01_0203, 0xC0A8_0101, 0x0808_0808, 0, 0xFFFF_FFFF]
    static let v6Pool: [(UInt64, UInt64)] = [(0x2001_0DB8_0000_0000, 1), (0x2001_0DB8_0000_0000, 2),
                                             (0x2001_0DB8_0001_0000, 1), (0xFE80_0000_0000_0000, 0xABCD)]

    mutating func address() -> IPAddress {
        if chance(0.75) { return .v4(Self.v4Pool[int(0...(Self.v4Pool.count - 1))]) }
        let (h, l) = Self.v6Pool[int(0...(Self.v6Pool.count - 1))]
        return .v6(high: h, low: l)
    }

    /// A value for `field` near the pools packets draw from.
    mutating func value(_ field: RuleField) -> UInt64 {
        switch field {
        case .proto: return [1, 6, 17, 58, 47][int(0...4)]
        case .srcPort, .dstPort: return [53, 80, 443, 123, 40000, 0, 65535][int(0...6)]
        case .srcIP, .dstIP:
            if case .v4(let a) = address() { return UInt64(a) }
            return u64(0...UInt64.max)
        case .tcpFlags: return [0x02, 0x12, 0x10, 0x04, 0x11][int(0...4)]
        default: return u64(0...min(field.maxValue, 8))
        }
    }

    mutating func field() -> RuleField { RuleField.allCases[int(0...(RuleField.allCases.count - 1))] }

    mutating func predicate() -> Predicate {
        switch int(0...3) {
        case 0: let f = field(); return .equals(f, value(f))
        case 1:
            let f: RuleField = chance(0.5) ? .srcIP : .dstIP
            let a = address()
            let len = a.isV4 ? [0, 1, 8, 16, 24, 31, 32][int(0...6)] : [0, 1, 32, 48, 63, 64, 65, 127, 128][int(0...8)]
            return .prefix(f, a, length: UInt8(len))
        case 2:
            let f = field()
            let a = value(f), b = value(f)
            return .range(f, min(a, b)...max(a, b))
        default:
            let f = field()
            let m = min(value(f) | (chance(0.5) ? 0 : u64(0...f.maxValue)), f.maxValue)
            let v = value(f) & m
            return .mask(f, mask: m, value: v)
        }
    }

    mutating func string() -> String {
        let alphabet: [Unicode.Scalar] = ["a", "z", " ", "\"", "\\", "\n", "\t", "\r", ";", "(", ")", "→", "é", "\u{1}", "\u{7F}", "\u{2028}", "0", ":"]
        var s = String.UnicodeScalarView()
        for _ in 0..<int(0...12) { s.append(alphabet[int(0...(alphabet.count - 1))]) }
        return String(s)
    }

    mutating func action() -> Action {
        switch int(0...3) {
        case 0: return .drop
        case 1: return .pass
        case 2: return .count
        default: return .rateLimit(pps: u64(1...1_000_000), burst: chance(0.5) ? nil : u64(0...TokenBucket.maxBurst))
        }
    }

    mutating func rule(id: UInt32? = nil) -> Rule {
        Rule(
            id: id ?? UInt32(truncatingIfNeeded: u64(0...UInt64(UInt32.max))),
            match: (0..<int(0...4)).map { _ in predicate() },
            action: action(),
            priority: chance(0.3) ? 0 : Int32.random(in: -5...5, using: &rng) * (chance(0.1) ? 100_000_000 : 1),
            ttlSeconds: chance(0.5) ? nil : UInt32(u64(0...UInt64(UInt32.max))),
            name: chance(0.7) ? nil : string(),
            explanation: chance(0.5) ? nil : string(),
            createdAt: chance(0.7) ? nil : u64(0...UInt64.max)
        )
    }

    mutating func packet() -> PacketFeatures {
        var f = PacketFeatures()
        f.proto = UInt8(value(.proto))
        f.srcIP = address()
        f.dstIP = chance(0.5) ? address() : f.srcIP
        f.ipVersion = f.srcIP.isV4 ? 4 : 6
        f.srcPort = UInt16(value(.srcPort))
        f.dstPort = UInt16(value(.dstPort))
        f.hasTransportHeader = chance(0.9)
        f.tcpFlags = UInt8(value(.tcpFlags))
        f.ttl = UInt8(value(.ttl))
        f.df = chance(0.5)
        f.mf = chance(0.1)
        f.fragOffset = UInt16(value(.fragOffset))
        f.ipID = UInt32(value(.ipID))
        f.ipLen = [40, 64, 100, 512, 1500, 9000][int(0...5)]
        f.tcpWindow = UInt16(value(.tcpWindow))
        f.dscp = UInt8(value(.dscp))
        f.ecn = UInt8(value(.ecn))
        f.icmpType = UInt8(value(.icmpType))
        f.icmpCode = UInt8(value(.icmpCode))
        f.payloadLen = UInt32(value(.payloadLen))
        f.direction = chance(0.2) ? nil : (chance(0.5) ? .inbound : .outbound)
        f.tcpUrgentPtr = UInt16(value(.tcpUrgentPtr))
        return f
    }
}

/// The rule semantics written as plainly as possible, independent of RuleIndex.
func naiveWinner(_ rules: [Rule], _ f: PacketFeatures) -> Rule? {
    rules.filter { r in r.predicates.allSatisfy { $0.matches(f) } }
        .min { a, b in a.priority != b.priority ? a.priority > b.priority : a.id < b.id }
}
