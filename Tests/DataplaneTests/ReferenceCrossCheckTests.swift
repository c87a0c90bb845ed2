import Dataplane
import Packets
import Rules
import TestSupport
import Testing
import Traffic

/// Holds the XDP classifier against the Swift reference matcher (RuleTable) packet by packet:
/// the program runs on each generated frame through BPF_PROG_RUN, and its verdict and rule id
/// (read back from the sample ring) must equal RuleTable.classify on the parsed features.
/// Rate limits use pps 0, whose buckets depend only on packet order, not on time.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF_PROG_RUN"))
struct ReferenceCrossCheckTests {
    /// Random but valid frames over every layer the parser knows.
    static func randomFrame(_ r: inout TrafficRandom) -> [UInt8] {
        let v6 = r.below(3) == 0
        // With some just past the others' prefixes of a length that is not a whole byte (10.0.16.1
        // past 10.0.0.0/20, 10.16.0.1 past /12, 10.0.0.9 past /29, 2001:dc0::1 past
        // 2001:db8::/29, …/57, …/71): the same shortened key (/16, /8, /24, …), another prefix.
        let addrs4: [UInt32] = [0x0A00_0001, 0x0A00_0102, 0x0A01_0203, 0xC0A8_0001, 0x0808_0808, 0x0A00_1001, 0x0A10_0001, 0x0A00_0009]
        let addrs6: [IPAddress] = ["2001:db8::1", "2001:db8::2", "2001:db8:1::5", "fe80::1", "2001:dc0::1", "2001:db8:0:80::1",
                                   "2001:db8::200:0:0:1"].map { IPAddress($0)! }
        let ports: [UInt16] = [53, 80, 123, 443, 1024, 8080, 49152, 65535]
        let sport = ports[Int(r.below(UInt32(ports.count)))], dport = ports[Int(r.below(UInt32(ports.count)))]
        let transport: PacketSpec.Transport
        switch r.below(5) {
        case 0, 1: transport = .udp(source: sport, destination: dport)
        case 2: transport = .tcp(source: sport, destination: dport, flags: TCPFlags(rawValue: UInt8(r.below(256))),
                                 window: UInt16(r.below(4)) * 1024, urgentPointer: [0, 1, 0x8000][Int(r.below(3))])
        case 3: transport = .icmp(type: UInt8(r.below(4)) * 4, code: UInt8(r.below(2)))
        default: transport = .none(proto: [47, 50, 132][Int(r.below(3))])
        }
        let network: PacketSpec.Network
        if v6 {
            var ip = PacketSpec.IPv6(source: addrs6[Int(r.below(UInt32(addrs6.count)))], destination: addrs6[Int(r.below(UInt32(addrs6.count)))])
            ip.hopLimit = UInt8(r.below(4)) * 32 + 1
            ip.trafficClass = UInt8(r.below(256))
            switch r.below(5) {
            case 0: ip.extensions = [0]
            case 1: ip.extensions = [0, 60]
            case 2:
                ip.extensions = [44]
                ip.fragmentOffset = r.below(2) == 0 ? 0 : UInt16(r.below(100))
                ip.moreFragments = r.below(2) == 0
                ip.fragmentIdentification = r.next32()
            default: break
            }
            network = .v6(ip)
        } else {
            var ip = PacketSpec.IPv4(source: addrs4[Int(r.below(UInt32(addrs4.count)))], destination: addrs4[Int(r.below(UInt32(addrs4.count)))])
            ip.ttl = UInt8(r.below(4)) * 32 + 1
            ip.identification = UInt16(r.below(4))
            ip.dscp = UInt8(r.below(64))
            ip.ecn = UInt8(r.below(4))
            ip.dontFragment = r.below(2) == 0
            if r.below(5) == 0 {
                ip.moreFragments = r.below(2) == 0
                ip.fragmentOffset = r.below(2) == 0 ? 0 : UInt16(r.below(100))
            }
            if r.below(6) == 0 { ip.options = [1, 1, 1, 1] }
            network = .v4(ip)
        }
        let vlans: [UInt16] = [[], [], [], [7], [7, 100]][Int(r.below(5))]
        let payload = [0, 6, 18, 100, 400, 1500][Int(r.below(6))]
        let spec = PacketSpec(ethernet: .init(vlans: vlans), network: network, transport: transport,
                              payloadLength: payload, minimumFrameLength: 60)
        return PacketBuilder.bytes(spec)
    }

    /// The kind of one predicate, without its value: a rule template is a list of these, and
    /// a table draws its rules from a few templates, as real tables do (the XDP table allows
    /// HOLON_MAX_SHAPES distinct shapes).
    enum Slot {
        case equals(RuleField), range(RuleField), mask(RuleField, UInt64), prefix(RuleField, UInt8)
    }

    static func randomSlot(_ r: inout TrafficRandom) -> Slot {
        let fields = RuleField.allCases.filter { !$0.isAddress }
        let field = fields[Int(r.below(UInt32(fields.count)))]
        let addr: RuleField = r.below(2) == 0 ? .srcIP : .dstIP
        switch r.below(6) {
        case 0, 1: return .equals(field)
        case 2: return .range(field)
        case 3: return .mask(field, UInt64(r.below(256)) & field.maxValue)
        case 4: return .prefix(addr, [0, 8, 12, 16, 20, 24, 29, 31, 32, 48, 57, 64, 71, 100, 128][Int(r.below(15))])
        default: return .equals(r.below(3) == 0 ? addr : .proto)
        }
    }

    /// A predicate of kind `slot` that often matches: values taken from a real packet.
    static func predicate(_ slot: Slot, _ r: inout TrafficRandom, from f: PacketFeatures) -> Predicate {
        switch slot {
        case .equals(let field):
            let v = field.value(in: f) ?? UInt64(r.below(4))
            return .equals(field, field.isAddress ? v : min(v, field.maxValue))
        case .range(let field):
            let v = field.value(in: f) ?? UInt64(r.below(4))
            let lo = v > 3 ? v - UInt64(r.below(4)) : 0
            return .range(field, lo...min(field.maxValue, max(lo, v) + UInt64(r.below(4))))
        case .mask(let field, let m):
            return .mask(field, mask: m, value: (field.value(in: f) ?? 0) & m)
        case .prefix(let which, let len):
            let a = which == .srcIP ? f.srcIP : f.dstIP
            return .prefix(which, a, length: a.isV4 ? min(len, 32) : len)
        }
    }

    static func randomRules(_ r: inout TrafficRandom, count: Int, idBase: UInt32, pool: [PacketFeatures]) -> [Rule] {
        let templates = (0..<12).map { _ -> [Slot] in
            let t = (0..<Int(r.below(4))).map { _ in randomSlot(&r) }
            // Rules that differ only by ranges chain behind one key (HOLON_MAX_CHAIN of them);
            // keying range templates on the source keeps random chains short, as in real tables.
            let ranged = t.contains { if case .range = $0 { return true } else { return false } }
            return ranged ? t + [.equals(.srcIP), .equals(.dstIP)] : t
        } + RuleField.allCases.map { [.equals($0)] }   // every field of the table, in the larger rounds
          // Prefixes keyed shorter than they are, alone (the frames hold addresses just past them).
          + (0..<3).map { _ in [.prefix(r.below(2) == 0 ? .srcIP : .dstIP, [12, 20, 29, 31, 57, 71, 100][Int(r.below(7))])] }
        return (0..<count).map { i in
            let f = pool[Int(r.below(UInt32(pool.count)))]
            let preds = templates[Int(r.below(UInt32(templates.count)))].map { predicate($0, &r, from: f) }
            let action: Action = [.drop, .pass, .count, .rateLimit(pps: 0, burst: UInt64(r.below(3)) + 1)][Int(r.below(4))]
            return Rule(id: idBase + UInt32(i), match: preds, action: action, priority: Int32(r.below(4)))
        }
    }

    @Test(arguments: 0..<6)
    func classifierAgreesWithReference(round: Int) throws {
        var r = TrafficRandom(seed: 0x5EED_0000 + UInt64(round))
        let dp = try Dataplane.transient()
        let reader = try dp.sampleReader()
        try dp.setSampleEvery(1)
        let frames = (0..<300).map { _ in Self.randomFrame(&r) }
        var features = try frames.map { f in
            try f.withUnsafeBytes { b in try PacketParser.features(b) }
        }
        for i in features.indices { features[i].direction = .inbound }   // XDP sees ingress
        let rules = Self.randomRules(&r, count: [5, 20, 60, 200, 600, 1000][round], idBase: UInt32(round) * 10_000,
                                     pool: features)
        try dp.install(rules)
        var table = try RuleTable(rules)
        var mismatches = 0
        // Each frame twice, so rate limits (pps 0) run out their burst.
        for (frame, f) in zip(frames + frames, features + features) {
            let expected = table.classify(f)
            let (action, _) = try dp.testRun(frame)
            let samples = try reader.drain()
            try #require(samples.count == 1)
            let s = samples[0]
            let got = Verdict(ruleID: s.ruleID, decision: s.verdict.decision ?? .pass)
            if got != expected || (action == .drop) == expected.passes {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("frame \(frame.count)B \(f): XDP \(got) (\(action)), reference \(expected), rule \(table.matchingRule(for: f).map(\.text) ?? "-")")
                }
            }
        }
        #expect(mismatches == 0)
        // Per-rule counters agree too.
        for (id, c) in table.allCounters where c.hits > 0 {
            #expect(dp.counters(forRule: id) == c)
        }
    }

    @Test func malformedFramesAreUnparsedOnBothSides() throws {
        let dp = try Dataplane.transient()
        let reader = try dp.sampleReader()
        try dp.setSampleEvery(1)
        try dp.install([Rule(id: 1, action: .drop)])
        var good = PacketBuilder.bytes(.udp4(source: 1, destination: 2, sourcePort: 3, destinationPort: 4, frameLength: 80))
        var cases: [[UInt8]] = [Array(good.prefix(30)), [0x00, 0x01]]   // truncated IPv4, runt
        good[14] = 0x46                                                // IHL says options that are not there… 
        good[17] = 21                                                  // …and a total length below it
        cases.append(good)
        var arp = [UInt8](repeating: 0, count: 60)
        arp[12] = 0x08; arp[13] = 0x06
        cases.append(arp)
        for c in cases {
            let swift = c.withUnsafeBytes { b in (try? PacketParser.features(b)) == nil }
            #expect(swift)
            let (action, _) = try dp.testRun(c.count >= 14 ? c : c + [UInt8](repeating: 0, count: 14 - c.count))
            let s = try reader.drain()
            if c.count >= 14 {
                #expect(action == .pass && s.first?.verdict == .unparsed)
            }
        }
    }
}

extension TrafficRandom {
    mutating func next32() -> UInt32 { UInt32(truncatingIfNeeded: next()) }
}

/// The table's documented limits fail the install with a clear error instead of misclassifying.
struct RuleTableLimitTests {
    @Test(.enabled(if: TestLab.isRoot, "needs root: BPF")) func limitsAreReported() throws {
        let dp = try Dataplane.transient()
        // 33 rules differing only by a range: one chain too many.
        let chain = (0..<33).map { Rule(id: UInt32($0), match: [.equals(.proto, 17), .range(.dstPort, UInt64($0)...UInt64($0))], action: .drop) }
        #expect(throws: DataplaneError.self) { try dp.install(chain) }
        // 65 distinct masks: one shape too many.
        let shapes = (1...65).map { Rule(id: UInt32($0), match: [.mask(.ipLen, mask: UInt64($0), value: 0)], action: .drop) }
        #expect(throws: DataplaneError.self) { try dp.install(shapes) }
        // A failed install leaves the previous table in force.
        try dp.install([Rule(id: 9, action: .drop)])
        #expect(throws: DataplaneError.self) { try dp.install(chain) }
        #expect(dp.rules.map(\.id) == [9])
    }
}
