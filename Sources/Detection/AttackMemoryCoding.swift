import Holon
import Packets
import Rules

/// How the attack memory is stored in a snapshot (format version 3): after the sources, a count
/// u32 (at most ``AttackMemory/capacity``) then each remembered attack:
///
/// ```
/// name              u16 length + UTF-8
/// first incident    u64        recalls u64
/// closed before     u64        nanoseconds between its close and the save
/// rules             u8 count, each a rule (below) with its exceptions
/// vector            weight f64, count u64, `dimension` sums f32
/// ```
///
/// A rule: id u32; has-rate-limit u8, rate u64; derived before the save u64 (ns); explanation
/// u32 length + UTF-8; baseline share f64; action u8 (0 drop or rate limit, 1 syn-auth,
/// 2 flow-check); passes u8; predicates u8 count, each a predicate (below); spared sources u32
/// count + addresses (as the baseline's sources); exceptions u8 count, each a rule without
/// exceptions of its own.
///
/// A predicate: field name (u8 length + UTF-8, the field table's name: the rule text's, stable
/// when fields are added), then kind u8: 0 equals u64; 1 IPv4 prefix u32 + length u8;
/// 2 range u64 lo, u64 hi; 3 payload bytes: offset u16, length u8, value, mask; 4 address.
///
/// Every value is checked as it is read (known field, lengths within the rule language's
/// limits, finite shares, counts that fit the bytes left): a forged memory is a
/// ``SnapshotError/malformed(_:)``, never a trap or an absurd rule installed.
extension ByteWriter {
    mutating func attack(_ e: AttackMemory.Entry) {
        string(e.name, lengthBytes: 2, limit: ByteReader.maxName)
        u64(UInt64(e.firstIncident))
        u64(UInt64(e.recalls))
        u64(e.lastClosed)
        u8(UInt8(e.rules.count))
        for r in e.rules { rule(r) }
        f64(e.vector.weight)
        u64(UInt64(e.vector.count))
        for s in e.vector.sums { f32(s) }
    }

    mutating func rule(_ r: DetectedRule) {
        u32(r.id)
        u8(r.rateLimitPps == nil ? 0 : 1)
        u64(r.rateLimitPps ?? 0)
        u64(r.derivedAt)
        string(r.explanation, lengthBytes: 4, limit: ByteReader.maxExplanation)
        f64(r.baselineShare)
        u8(r.authentication.map { $0 == .synAuth ? 1 : 2 } ?? 0)
        u8(r.passes ? 1 : 0)
        u8(UInt8(r.predicates.count))
        for p in r.predicates { predicate(p) }
        u32(UInt32(r.spared.count))
        for a in r.spared.sorted() { address(a) }
        u8(UInt8(r.exceptions.count))
        for x in r.exceptions { rule(x) }
    }

    mutating func predicate(_ c: Candidate) {
        string(c.field.rawValue, lengthBytes: 1, limit: 255)
        switch c.kind {
        case .equals(let v): u8(0); u64(v)
        case .prefix(let net, let len): u8(1); u32(net); u8(UInt8(len))
        case .range(let lo, let hi): u8(2); u64(lo); u64(hi)
        case .bytes(let b):
            u8(3); u16(UInt16(b.offset)); u8(UInt8(b.value.count)); append(b.value); append(b.mask)
        case .address(let a): u8(4); address(a)
        }
    }

    /// UTF-8 behind a little-endian length of 1, 2 or 4 bytes; cut to whole characters within
    /// `limit` bytes (what the reader accepts).
    mutating func string(_ s: String, lengthBytes: Int, limit: Int) {
        var text = Substring(s)
        while text.utf8.count > limit { text = text.dropLast() }
        let utf8 = Array(text.utf8)
        switch lengthBytes {
        case 1: u8(UInt8(utf8.count))
        case 2: u16(UInt16(utf8.count))
        default: u32(UInt32(utf8.count))
        }
        append(utf8)
    }
}

extension AttackMemory.Entry {
    /// Whether the entry fits the stored form's bounds (``ByteReader/maxRulesPerAttack`` and
    /// the rest): one that does not is left out of a snapshot rather than stored cut (a rule
    /// without some of its predicates would match more than it did).
    var isStorable: Bool {
        func fits(_ r: DetectedRule, exceptions: Bool) -> Bool {
            (1...ByteReader.maxPredicates).contains(r.predicates.count)
                && (exceptions ? r.exceptions.count <= ByteReader.maxExceptions : r.exceptions.isEmpty)
                && r.exceptions.allSatisfy { fits($0, exceptions: false) }
        }
        return (1...ByteReader.maxRulesPerAttack).contains(rules.count) && rules.allSatisfy { fits($0, exceptions: true) }
    }
}

extension ByteReader {
    /// Bounds of a remembered attack beyond which the memory is not one this detector wrote.
    static let maxRulesPerAttack = 64
    static let maxPredicates = 32
    static let maxExceptions = 255
    static let maxExplanation = 1 << 16
    static let maxName = 256
    /// The smallest stored rule and attack (empty texts, no predicates): what a count must fit.
    static let minRuleSize = 4 + 1 + 8 + 8 + 4 + 8 + 1 + 1 + 1 + 4 + 1
    static let minAttackSize = 2 + 8 + 8 + 8 + 1 + 8 + 8

    mutating func attack(dimension: Int) throws(SnapshotError) -> AttackMemory.Entry {
        let at = offset
        let name = try string(lengthBytes: 2, limit: Self.maxName, what: "attack name")
        let first = Int(try u64() & 0x7FFF_FFFF_FFFF_FFFF)
        let recalls = Int(try u64() & 0x7FFF_FFFF_FFFF_FFFF)
        let closed = try u64()
        let ruleCount = Int(try u8())
        guard (1...Self.maxRulesPerAttack).contains(ruleCount) else { throw .malformed("remembered attack at byte \(at) with \(ruleCount) rules") }
        var rules: [DetectedRule] = []
        for _ in 0..<ruleCount { rules.append(try rule(exceptionsAllowed: true)) }
        let weight = try f64()
        let count = Int(try u64() & 0x7FFF_FFFF_FFFF_FFFF)
        guard weight.isFinite, weight > 0 else { throw .malformed("remembered attack at byte \(at): vector weight \(weight)") }
        guard dimension * 4 <= remaining else { throw .malformed("a remembered vector of \(dimension) sums cannot fit in the \(remaining) bytes left") }
        var sums = [Float](repeating: 0, count: dimension)
        for i in 0..<dimension {
            sums[i] = try f32()
            guard sums[i].isFinite else { throw .malformed("remembered attack at byte \(at): sum \(i) is \(sums[i])") }
        }
        return AttackMemory.Entry(rules: rules, name: name, firstIncident: first, recalls: recalls, lastClosed: closed,
                                  vector: Accumulator(dimension: dimension, sums: sums, weight: weight, count: count))
    }

    mutating func rule(exceptionsAllowed: Bool) throws(SnapshotError) -> DetectedRule {
        let at = offset
        let id = try u32()
        let limited = try u8()
        let rate = try u64()
        let derived = try u64()
        let explanation = try string(lengthBytes: 4, limit: Self.maxExplanation, what: "rule explanation")
        let share = try f64()
        guard share.isFinite, (0...1).contains(share) else { throw .malformed("rule at byte \(at): baseline share \(share)") }
        let authentication: ConnectionCheck?
        switch try u8() {
        case 0: authentication = nil
        case 1: authentication = .synAuth
        case 2: authentication = .flowCheck
        case let a: throw .malformed("rule at byte \(at): action \(a)")
        }
        let passes = try u8()
        guard limited <= 1, passes <= 1 else { throw .malformed("rule at byte \(at): flags \(limited), \(passes)") }
        let predicateCount = Int(try u8())
        guard (1...Self.maxPredicates).contains(predicateCount) else { throw .malformed("rule at byte \(at) with \(predicateCount) predicates") }
        var predicates: [Candidate] = []
        for _ in 0..<predicateCount { predicates.append(try predicate()) }
        let sparedCount = try count(of: "spared sources", minSize: 5, limit: Baseline.maxSources)
        var spared = Set<IPAddress>(minimumCapacity: sparedCount)
        for _ in 0..<sparedCount { spared.insert(try address()) }
        let exceptionCount = Int(try u8())
        guard exceptionsAllowed || exceptionCount == 0 else { throw .malformed("exception at byte \(at) has exceptions of its own") }
        guard exceptionCount * Self.minRuleSize <= remaining else { throw .malformed("\(exceptionCount) exceptions cannot fit in the \(remaining) bytes left at byte \(offset)") }
        var exceptions: [DetectedRule] = []
        for _ in 0..<exceptionCount { exceptions.append(try rule(exceptionsAllowed: false)) }
        var r = DetectedRule(id: id, rateLimitPps: limited == 1 ? rate : nil, derivedAt: derived, explanation: explanation,
                             predicates: predicates, baselineShare: share)
        r.authentication = authentication
        r.passes = passes == 1
        r.spared = spared
        r.exceptions = exceptions
        return r
    }

    mutating func predicate() throws(SnapshotError) -> Candidate {
        let at = offset
        let name = try string(lengthBytes: 1, limit: 255, what: "field name")
        guard let field = RuleField(rawValue: name) else { throw .malformed("predicate at byte \(at) on unknown field \"\(name)\"") }
        switch try u8() {
        case 0: return Candidate(field: field, kind: .equals(try u64()))
        case 1:
            let net = try u32(), len = Int(try u8())
            guard field.isAddress, len <= 32 else { throw .malformed("predicate at byte \(at): prefix /\(len) on \(name)") }
            return Candidate(field: field, kind: .prefix(network: net, length: len))
        case 2:
            let lo = try u64(), hi = try u64()
            guard lo <= hi else { throw .malformed("predicate at byte \(at): range \(lo)...\(hi)") }
            return Candidate(field: field, kind: .range(lo, hi))
        case 3:
            let start = Int(try u16()), n = Int(try u8())
            var value = [UInt8](), mask = [UInt8]()
            guard 2 * n <= remaining else { throw .malformed("predicate at byte \(at): \(n) payload bytes cannot fit") }
            for _ in 0..<n { value.append(try u8()) }
            for _ in 0..<n { mask.append(try u8()) }
            let match = PayloadMatch(offset: start, value: value, mask: mask)
            do { try match.validate() } catch { throw .malformed("predicate at byte \(at): \(error)") }
            return Candidate(field: field, kind: .bytes(match))
        case 4:
            let a = try address()
            guard field.isAddress else { throw .malformed("predicate at byte \(at): an address on \(name)") }
            return Candidate(field: field, kind: .address(a))
        case let k: throw .malformed("predicate at byte \(at) of kind \(k)")
        }
    }

    mutating func string(lengthBytes: Int, limit: Int, what: String) throws(SnapshotError) -> String {
        let at = offset
        let n: Int
        switch lengthBytes {
        case 1: n = Int(try u8())
        case 2: n = Int(try u16())
        default: n = Int(try u32())
        }
        guard n <= limit, n <= remaining else { throw .malformed("\(what) of \(n) bytes at byte \(at)") }
        var utf8 = [UInt8](repeating: 0, count: n)
        for i in 0..<n { utf8[i] = try u8() }
        guard let s = String(validating: utf8, as: UTF8.self) else { throw .malformed("\(what) at byte \(at) is not UTF-8") }
        return s
    }
}
