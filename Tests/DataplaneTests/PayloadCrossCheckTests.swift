import Dataplane
import Foundation
import Packets
import Rules
import TestSupport
import Testing
import Traffic

/// Issue 17: byte predicates decided the same way by the XDP classifier, the reference matcher
/// (on the whole payload) and the kernel's nftables, on random frames with payloads from a small
/// alphabet (so that random rules match often), at the edges: offset 0, 255/256, runs that end
/// exactly at the payload's end or one byte past it, Ethernet padding after a short payload,
/// partial masks, TCP with options.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF_PROG_RUN, nftables"))
struct PayloadCrossCheckTests {
    static let alphabet: [UInt8] = [0x00, 0x13, 0x37, 0xFF]

    struct Case {
        var frame: [UInt8]
        var features: PacketFeatures
        var payload: [UInt8]
    }

    static func randomCase(_ r: inout TrafficRandom, index: Int) -> Case {
        let lengths = [0, 1, 2, 7, 8, 9, 63, 64, 65, 100, 255, 256, 257, 300, 320, 330]
        let n = Int(r.below(3)) == 0 ? lengths[Int(r.below(UInt32(lengths.count)))] : Int(r.below(340))
        let payload = (0..<n).map { _ in alphabet[Int(r.below(UInt32(alphabet.count)))] }
        let src = 0x0A4D_0001 + UInt32(index % 7)
        let transport: PacketSpec.Transport = r.below(3) == 0
            ? .tcp(source: 1000, destination: 80, flags: .ack)
            : .udp(source: 1000, destination: UInt16(9 + r.below(2)))
        let spec = PacketSpec(network: .v4(.init(source: src, destination: 0x0A4D_0002)), transport: transport,
                              payloadLength: n, minimumFrameLength: 60)
        let frame = PacketBuilder.bytes(spec, payload: payload)
        var f = try! frame.withUnsafeBytes { try PacketParser.features($0) }
        f.direction = .inbound
        return Case(frame: frame, features: f, payload: payload)
    }

    /// Byte predicates' (offset, length, mask) drawn from `layouts` of them when given (a table
    /// holds at most 64 shapes, and each layout is a shape), else anew for each rule.
    static func randomRules(_ r: inout TrafficRandom, count: Int, pool: [Case], layouts: Int? = nil) -> [Rule] {
        let offsets = [0, 1, 7, 8, 15, 63, 64, 100, 200, 255, 256]
        func layout(_ r: inout TrafficRandom) -> (offset: Int, mask: [UInt8]) {
            let offset = r.below(2) == 0 ? offsets[Int(r.below(UInt32(offsets.count)))] : Int(r.below(257))
            let len = [1, 2, 4, 8, 9, 12, 16, 17, 33, 64][Int(r.below(10))]
            let partial = r.below(4) == 0
            return (offset, (0..<len).map { _ in partial ? [0xFF, 0xF0, 0x0F, 0x00][Int(r.below(4))] : 0xFF })
        }
        let fixed = (0..<(layouts ?? 0)).map { _ in layout(&r) }
        return (0..<count).map { i in
            let c = pool[Int(r.below(UInt32(pool.count)))]
            let (offset, m) = fixed.isEmpty ? layout(&r) : fixed[Int(r.below(UInt32(fixed.count)))]
            // From a real payload when it reaches that far (so it matches), else random bytes.
            var value = m.indices.map { k in
                offset + k < c.payload.count ? c.payload[offset + k] : alphabet[Int(r.below(UInt32(alphabet.count)))]
            }
            for k in value.indices { value[k] &= m[k] }
            let mask: [UInt8]? = m.allSatisfy { $0 == 0xFF } ? nil : m
            var preds: [Rules.Predicate] = [.bytes(PayloadMatch(offset: offset, value: value, mask: mask))]
            preds.insert(.equals(.proto, r.below(2) == 0 ? 17 : 6), at: 0)
            if r.below(3) == 0 { preds.append(.equals(.srcIP, UInt64(c.features.srcIP.fieldValue))) }
            let action: Action = r.below(2) == 0 ? .drop : .count
            return Rule(id: UInt32(i + 1), match: preds, action: action, priority: Int32(r.below(3)))
        }
    }

    /// The first rule by priority (then id) that matches, on the whole payload.
    static func expected(_ rules: [Rule], _ c: Case) -> Rule? {
        let ordered = rules.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.id < $1.id }
        return c.payload.withUnsafeBytes { p in ordered.first { $0.matches(c.features, payload: p) } }
    }

    @Test(arguments: 0..<3)
    func xdpAgreesWithTheReference(round: Int) throws {
        var r = TrafficRandom(seed: 0xB17E_0000 + UInt64(round))
        let dp = try Dataplane.transient()
        let reader = try dp.sampleReader()
        try dp.setSampleEvery(1)
        let cases = (0..<400).map { Self.randomCase(&r, index: $0) }
        let rules = Self.randomRules(&r, count: [10, 100, 1000][round], pool: cases, layouts: [nil, 12, 20][round])
        try dp.install(rules)
        var matched = 0, mismatches = 0
        for c in cases {
            let want = Self.expected(rules, c)
            let (action, _) = try dp.testRun(c.frame)
            let s = try reader.drain()
            try #require(s.count == 1)
            let got: UInt32? = s[0].ruleID == 0 ? nil : s[0].ruleID
            if want != nil { matched += 1 }
            if got != want?.id || (action == .drop) != (want?.action == .drop) {
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record("payload \(c.payload.count)B \(PayloadMatch.hex(Array(c.payload.prefix(24)))): XDP rule \(got.map(String.init) ?? "-") (\(action)), reference \(want?.text ?? "-")")
                }
            }
        }
        #expect(mismatches == 0)
        #expect(matched >= min(cases.count / 10, rules.count), "too few matches to mean anything: \(matched)")
    }

    @Test func headsOfTheFeaturesAgreeWithTheWholePayloadWithinThem() throws {
        var r = TrafficRandom(seed: 99)
        let cases = (0..<400).map { Self.randomCase(&r, index: $0) }
        for rule in Self.randomRules(&r, count: 300, pool: cases) {
            guard case .bytes(let b) = rule.predicates.first(where: { if case .bytes = $0 { true } else { false } }),
                  b.end <= PayloadHead.capacity else { continue }
            for c in cases {
                #expect(rule.matches(c.features) == c.payload.withUnsafeBytes { rule.matches(c.features, payload: $0) })
            }
        }
    }

    @Test func nftablesCountsWhatTheReferenceSays() throws {
        var r = TrafficRandom(seed: 7)
        let cases = (0..<300).map { Self.randomCase(&r, index: $0) }
        let rules = Self.randomRules(&r, count: 40, pool: cases).map { rule -> Rule in
            var x = rule
            x.action = .count   // nothing dropped before the counters see it
            return x
        }
        let t = try TestLab("nftb")
        defer { t.close() }
        let path = NSTemporaryDirectory() + "holon-nft-bytes-\(getpid()).nft"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try NftablesExport.ruleset(rules, table: "holonbytes", device: t.options.interface).write(toFile: path, atomically: true, encoding: .utf8)
        let ns = t.options.namespace!
        #expect(try Tools.run("/usr/sbin/ip", ["netns", "exec", ns, "nft", "-f", path]).status == 0)
        t.sender.send(cases.map(\.frame))
        _ = try t.settle(packets: UInt64(cases.count))
        var expected: [UInt32: Int] = [:]
        for c in cases { if let w = Self.expected(rules, c) { expected[w.id, default: 0] += 1 } }
        let got = try NftablesKernelTests().nftCounters(namespace: ns, table: "holonbytes")
        for rule in rules {
            #expect(got[rule.id] ?? 0 == expected[rule.id] ?? 0, "\(rule.text): nft \(got[rule.id] ?? 0), reference \(expected[rule.id] ?? 0)")
        }
        #expect(expected.values.reduce(0, +) > 30)
    }
}
