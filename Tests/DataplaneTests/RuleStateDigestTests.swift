@testable import Dataplane
import Packets
import Rules
import Testing
import Traffic

/// The table digest kept in the config map is computed from rule values, not printed text; it
/// must still say "same table" for the rules read back from the state file, "different" for a
/// change of any property, and accept a digest an earlier version recorded (the text's).
@Suite struct RuleStateDigestTests {
    /// Rules over every predicate kind, action and optional property, valid by construction.
    struct Rules_ {
        var rng: SplitMix64
        mutating func n(_ k: UInt64) -> UInt64 { rng.next() % k }
        mutating func string() -> String? {
            let pieces = ["a", " ", "\"", "\\", "\n", "→", "é", ";", "(", "0"]
            return n(3) == 0 ? nil : (0..<n(9)).map { _ in pieces[Int(n(UInt64(pieces.count)))] }.joined()
        }
        mutating func predicate() -> Predicate {
            switch n(6) {
            case 0: return .equals(.dstPort, n(65536))
            case 1: return .mask(.tcpFlags, mask: 0x12, value: [0, 0x02, 0x10, 0x12][Int(n(4))])
            case 2: let a = n(256), b = n(256); return .range(.ttl, min(a, b)...max(a, b))
            case 3: return .prefix(.srcIP, .v4(UInt32(truncatingIfNeeded: rng.next()) & 0xFFFF_FF00), length: 24)
            case 4: return .prefix(.dstIP, .v6(high: 0x2001_0DB8_0000_0000 | n(65536), low: 0), length: 64)
            default:
                let len = 1 + Int(n(20))
                let mask = (0..<len).map { _ in [0xFF, 0xF0, 0x0F][Int(n(3))] as UInt8 }
                let value = (0..<len).map { i in UInt8(truncatingIfNeeded: rng.next()) & mask[i] }
                return .bytes(PayloadMatch(offset: Int(n(200)), value: value, mask: n(2) == 0 ? nil : mask))
            }
        }
        mutating func rule(id: UInt32) -> Rule {
            let actions: [Action] = [.drop, .pass, .count, .synAuth, .flowCheck, .rateLimit(pps: 1 + n(1000), burst: nil),
                                     .rateLimit(pps: 1 + n(1000), burst: n(100))]
            var r = Rule(id: id, match: (0..<n(4)).map { _ in predicate() }, action: actions[Int(n(UInt64(actions.count)))],
                         priority: Int32(truncatingIfNeeded: Int(n(11)) - 5), ttlSeconds: n(2) == 0 ? nil : UInt32(n(100_000)),
                         name: string(), explanation: string(), createdAt: n(2) == 0 ? nil : rng.next())
            if r.action == .synAuth || r.action == .flowCheck {   // they authenticate TCP only
                r.predicates = [.equals(.proto, 6), .equals(.tcpFlags, r.action == .synAuth ? 0x02 : 0x10)] + r.predicates
            }
            return r
        }
    }

    @Test func rulesReadBackFromTheStateFileHaveTheInstalledDigest() throws {
        var g = Rules_(rng: SplitMix64(seed: 12))
        let rules = (1...2_000).map { g.rule(id: UInt32($0)) }   // id 0 is not written to a file (RuleFile numbers it)
        for r in rules { try r.validate() }
        let back = try RuleFile.parse(RuleFile.print(rules))
        #expect(back.count == rules.count)
        #expect(RuleState.digest(back) == RuleState.digest(rules))
        for (a, b) in zip(rules, back) where RuleState.ruleHash(a) != RuleState.ruleHash(b) {
            Issue.record("hash differs after the text round trip: \(a.text) — equal values: \(a == b)\n\(a)\n\(b)")
            break
        }
        let fp = TableFingerprint(generation: 3, rules: rules.count, digest: RuleState.digest(rules))
        #expect(RuleState.matches(back, fp), "the rules read back match the filter's fingerprint")
        #expect(!RuleState.matches(Array(back.dropLast()), fp))
    }

    @Test func everyPropertyChangesTheHash() throws {
        let r = Rule(id: 7, match: [.equals(.proto, 17), .prefix(.dstIP, .v4(0xC633_640A), length: 32),
                                    .bytes(PayloadMatch(offset: 0, value: [0x13, 0x37]))],
                     action: .rateLimit(pps: 100, burst: 10), priority: 3, ttlSeconds: 60, name: "n", explanation: "e", createdAt: 99)
        var changed: [Rule] = []
        func with(_ f: (inout Rule) -> Void) { var x = r; f(&x); changed.append(x) }
        with { $0.id = 8 }
        with { $0.priority = 4 }
        with { $0.ttlSeconds = nil }
        with { $0.ttlSeconds = 61 }
        with { $0.name = nil }
        with { $0.name = "m" }
        with { $0.explanation = nil }
        with { $0.explanation = "f" }
        with { $0.createdAt = nil }
        with { $0.createdAt = 100 }
        with { $0.action = .rateLimit(pps: 100, burst: nil) }
        with { $0.action = .rateLimit(pps: 101, burst: 10) }
        with { $0.action = .drop }
        with { $0.predicates.removeLast() }
        with { $0.predicates[0] = .equals(.proto, 6) }
        with { $0.predicates[1] = .prefix(.dstIP, .v4(0xC633_6400), length: 24) }
        with { $0.predicates[2] = .bytes(PayloadMatch(offset: 1, value: [0x13, 0x37])) }
        with { $0.predicates[2] = .bytes(PayloadMatch(offset: 0, value: [0x13, 0x30], mask: [0xFF, 0xF0])) }
        with { $0.predicates.swapAt(0, 1) }   // order is kept in the text, so it is part of the rule
        with { $0.name = nil; $0.explanation = "n" }  // the same bytes in another property
        let hashes = Set(changed.map(RuleState.ruleHash))
        #expect(hashes.count == changed.count, "two changes hash alike")
        #expect(!hashes.contains(RuleState.ruleHash(r)))
        // Deterministic across processes and versions: a value a pinned map may hold for years.
        #expect(RuleState.ruleHash(Rule(id: 1, match: [.equals(.proto, 17)], action: .drop)) == 0x6224_c442_d8cb_5815)   // computed apart, in Python
    }

    /// A filter installed by an earlier version holds the text digest; its state file is still
    /// believed after an upgrade.
    @Test func theDigestOfEarlierVersionsIsStillAccepted() throws {
        let rules = [Rule(id: 1, match: [.equals(.proto, 17)], action: .drop),
                     Rule(id: 2, match: [.equals(.dstPort, 53)], action: .rateLimit(pps: 10, burst: nil), name: "dns")]
        let old = TableFingerprint(generation: 1, rules: 2, digest: RuleState.textDigest(rules))
        #expect(old.digest != RuleState.digest(rules))
        #expect(RuleState.matches(rules, old))
        #expect(!RuleState.matches([rules[0]], TableFingerprint(generation: 1, rules: 1, digest: RuleState.textDigest(rules))))
    }
}
