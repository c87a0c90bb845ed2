import CHolonXDP
@testable import Dataplane
import Packets
import Rules
import Testing

/// Address prefixes are keyed at whole bytes (/8, /16, /24, /32; every 8 bits of IPv6) and
/// each rule checks its own length: a blocklist of many prefix lengths is a few shapes, not one
/// per length, and a packet that matches none (a real user's) walks those few.
struct PrefixKeyTests {
    static func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8 = 0) -> UInt32 { UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 }

    static func drop(_ id: UInt32, _ address: UInt32, _ length: UInt8) -> Rule {
        Rule(id: id, match: [.prefix(.srcIP, .v4(address), length: length)], action: .drop)
    }

    @Test func prefixesAreKeyedAtWholeBytes() {
        typealias E = RuleCompiler.Element
        let v4 = UInt8(HOLON_F_SRC_V4.rawValue), hi = UInt8(HOLON_F_DST_V6_HI.rawValue), lo = UInt8(HOLON_F_DST_V6_LO.rawValue)
        func keyed(_ f: UInt8, _ mask: UInt64, _ value: UInt64) -> (UInt64, UInt64)? {
            RuleCompiler.coarseKeyElement(E(field: f, mask: mask, value: value)).map { ($0.mask, $0.value) }
        }
        #expect(keyed(v4, RuleCompiler.v4Mask(20), 0xC633_6000)! == (RuleCompiler.v4Mask(16), 0xC633_0000))
        #expect(keyed(v4, RuleCompiler.v4Mask(24), 0xC633_6400)! == (RuleCompiler.v4Mask(24), 0xC633_6400), "a whole byte stays")
        #expect(keyed(v4, RuleCompiler.v4Mask(32), 0xC633_6401)! == (RuleCompiler.v4Mask(32), 0xC633_6401))
        #expect(keyed(v4, RuleCompiler.v4Mask(5), 0xC000_0000)! == (0, 0), "kept with no bit: it says IPv4")
        let (h29, _) = RuleCompiler.v6Mask(29), (h24, _) = RuleCompiler.v6Mask(24)
        #expect(keyed(hi, h29, 0x2001_0DB8_0000_0000)! == (h24, 0x2001_0D00_0000_0000))
        let (_, l100) = RuleCompiler.v6Mask(100), (_, l96) = RuleCompiler.v6Mask(96)
        #expect(keyed(lo, l100, 0x1234_5678_9000_0000)! == (l96, 0x1234_5678_0000_0000))
        let (_, l65) = RuleCompiler.v6Mask(65)
        #expect(keyed(lo, l65, 0x8000_0000_0000_0000) == nil, "a low half of no bit leaves the key")
        let port = UInt8(RuleCompiler.fieldSlot(.dstPort))
        #expect(keyed(port, 0xFF00, 0x1200)! == (0xFF00, 0x1200), "only addresses")
    }

    @Test func aBlocklistOfManyLengthsIsThreeShapes() throws {
        // Lengths 9…24, four prefixes each, in /8s of their own.
        var rules: [Rule] = []
        for length in 9...24 {
            for j in 0..<4 {
                rules.append(Self.drop(UInt32(rules.count + 1), Self.v4(UInt8(20 + rules.count), UInt8(16 * j)), UInt8(length)))
            }
        }
        let t = try RuleCompiler.compile(rules, bootOffsetNs: 0)
        #expect(t.shapes.count == 3, "keyed at /8, /16 and /24")
        #expect(Set(t.shapeSigs.map { $0.masks[0] }) == [RuleCompiler.v4Mask(8), RuleCompiler.v4Mask(16), RuleCompiler.v4Mask(24)])
        // A rule keyed short checks its own prefix: the one check, on the address.
        for (i, r) in t.rules.enumerated() {
            let length = t.ordered[i].predicates.first.flatMap { p -> UInt8? in if case .prefix(_, _, let l) = p { return l } else { return nil } }!
            if length % 8 == 0 {
                #expect(r.nchecks == 0)
            } else {
                try #require(r.nchecks == 1)
                let c = t.checks[Int(r.check_start)]
                #expect(c.field == UInt8(HOLON_F_SRC_V4.rawValue) && c.a == RuleCompiler.v4Mask(length))
            }
        }
    }

    @Test func onlyTheRulesOfACrowdedKeyAreKeyedWhole() throws {
        // Five /20s in one /16 make its chain longer than a shortened key may; the /20 in
        // another /16 and the /16 itself stay keyed at /16.
        var rules = (0..<5).map { Self.drop(UInt32($0 + 1), Self.v4(10, 1, UInt8(16 * $0)), 20) }
        rules.append(Self.drop(6, Self.v4(10, 2), 20))
        rules.append(Self.drop(7, Self.v4(10, 3), 16))
        let t = try RuleCompiler.compile(rules, bootOffsetNs: 0)
        #expect(t.shapes.count == 2, "/16, and /20 (the second try's stride keys a /20 as it is)")
        #expect(Set(t.narrowed.map { t.ordered[$0].id }) == [6], "the lone /20 alone is keyed short")
        // Four fit.
        let four = try RuleCompiler.compile(Array(rules[1...]), bootOffsetNs: 0)
        #expect(four.shapes.count == 1)
    }

    @Test func aCrowdedKeyIsTriedAtFourBitsBeforeWhole() throws {
        // Five /22s in one /16 but in five /20s: keyed at /20 on the second try, each its
        // own chain. Five /23s in one /20 crowd that too: keyed whole, at /23.
        let spread = (0..<5).map { Self.drop(UInt32($0 + 1), Self.v4(10, 1, UInt8(16 * $0)), 22) }
        let packed = (0..<5).map { Self.drop(UInt32($0 + 11), Self.v4(10, 2, UInt8(2 * $0)), 23) }
        let t = try RuleCompiler.compile(spread + packed, bootOffsetNs: 0)
        #expect(Set(t.fine.map { t.ordered[$0].id }) == [1, 2, 3, 4, 5])
        #expect(Set(t.narrowed.map { t.ordered[$0].id }) == [1, 2, 3, 4, 5], "the /23s keyed whole")
        #expect(Set(t.shapeSigs.map { $0.masks[0] }) == [RuleCompiler.v4Mask(20), RuleCompiler.v4Mask(23)])
    }
}

/// The kernel against the reference matcher on prefixes keyed short: inside each prefix, just
/// past its last bit (the same shortened key, another prefix), across priorities and actions,
/// IPv4 and IPv6; and after rules are added and deleted in place.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF"))
struct PrefixKeyKernelTests {
    static func frame(_ source: IPAddress) -> [UInt8] {
        let network: PacketSpec.Network = switch source {
        case .v4(let a): .v4(PacketSpec.IPv4(source: a, destination: 0x0A4D_0002))
        case .v6: .v6(PacketSpec.IPv6(source: source, destination: .v6(high: 0x2001_0DB8_0A4D_0000, low: 2)))
        }
        return PacketBuilder.bytes(PacketSpec(network: network, transport: .udp(source: 40000, destination: 53)))
    }

    /// Addresses a prefix rule decides on: its first, its last, and the first past it.
    static func probes(_ r: Rule) -> [IPAddress] {
        guard case .prefix(_, let a, let l) = r.predicates[0] else { return [] }
        switch a {
        case .v4(let x):
            let host: UInt32 = l == 0 ? .max : (l >= 32 ? 0 : UInt32.max >> UInt32(l))
            return [.v4(x), .v4(x | host), .v4((x | host) &+ 1)]
        case .v6(let hi, let lo):
            let (mh, ml) = RuleCompiler.v6Mask(l)
            let last = (hi | ~mh, lo | ~ml)
            let past = last.1 == .max ? (last.0 &+ 1, UInt64(0)) : (last.0, last.1 &+ 1)
            return [a, .v6(high: last.0, low: last.1), .v6(high: past.0, low: past.1)]
        }
    }

    static func rules() -> [Rule] {
        var rules: [Rule] = []
        func add(_ address: IPAddress, _ l: UInt8, _ action: Action = .drop, priority: Int32 = 0) {
            let a: IPAddress = switch address {   // the prefix's first address
            case .v4(let x): .v4(x & UInt32(RuleCompiler.v4Mask(l)))
            case .v6(let hi, let lo): .v6(high: hi & RuleCompiler.v6Mask(l).0, low: lo & RuleCompiler.v6Mask(l).1)
            }
            rules.append(Rule(id: UInt32(rules.count + 1), match: [.prefix(.srcIP, a, length: l)], action: action, priority: priority))
        }
        for (i, l) in [9, 12, 15, 17, 20, 22, 23, 25, 28, 31].enumerated() {
            add(.v4(UInt32(30 + i) << 24 | 0x0040_0000), UInt8(l))
        }
        // In one /16: a /16 drop, a /20 pass above it, a /22 count beside it, and five /23s
        // (a crowded shortened key: those keyed whole).
        add(.v4(0xC633_0000), 16)
        add(.v4(0xC633_1000), 20, .pass, priority: 10)
        add(.v4(0xC633_2000), 22, .count, priority: 10)
        for j in 0..<5 { add(.v4(0xCB00_7100 + UInt32(j) << 9), 23) }
        // Five /22s in one /16, each in a /20 of its own: keyed at /20 (the second try).
        for j in 0..<5 { add(.v4(0xCB01_0000 + UInt32(j) << 12), 22) }
        for l in [29, 36, 48, 63, 65, 100, 127] {
            add(.v6(high: 0x2001_0DB8_0000_0000 | UInt64(l) << 12, low: 0), UInt8(l))
        }
        return rules
    }

    @Test func shortenedKeysMatchWhatTheirPrefixesMatch() throws {
        let dp = try Dataplane.transient()
        let reader = try dp.sampleReader()
        try dp.setSampleEvery(1)
        var installed = Self.rules()
        try dp.install(installed)
        func agree(_ what: String) throws {
            let table = try RuleTable(installed)
            for r in installed {
                for a in Self.probes(r) {
                    let frame = Self.frame(a)
                    let f = try frame.withUnsafeBytes { try PacketParser.features($0) }
                    let expected = table.matchingRule(for: f)?.id
                    _ = try dp.testRun(frame)
                    let got = try reader.drain()
                    try #require(got.count == 1)
                    #expect(got[0].ruleID == expected, "\(what): \(a) met rule \(got[0].ruleID.map(String.init) ?? "none"), the reference's \(expected.map(String.init) ?? "none")")
                }
            }
        }
        try agree("installed whole")
        // In place: a /21 joins, a /20 leaves.
        let added = Rule(id: 900, match: [.prefix(.srcIP, .v4(0x2800_0800), length: 21)], action: .drop, priority: 5)
        try dp.add([added])
        installed.append(added)
        let gone = installed.filter {
            $0.predicates == [.prefix(.srcIP, .v4(0x2240_0000), length: 20)] || $0.predicates == [.prefix(.srcIP, .v4(0xCB01_1000), length: 22)]
        }
        try #require(gone.count == 2)
        #expect(try dp.delete(ids: Set(gone.map(\.id))).isEmpty)
        installed.removeAll { r in gone.contains { $0.id == r.id } }
        try agree("after an edit")
        #expect(try dp.testRun(Self.frame(.v4(0x2800_0FFF))).action == .drop)
        #expect(try dp.testRun(Self.frame(.v4(0x2240_0001))).action == .pass)
        #expect(try dp.testRun(Self.frame(.v4(0xCB01_1001))).action == .pass, "the /22 keyed at /20 left")
    }
}
