import CHolonXDP
import Packets
import Rules

/// A rule table in the XDP program's layout (holon_xdp_shared.h): tuple-space search with one
/// hash key per *shape*.
///
/// Every equality, mask and prefix predicate is a masked comparison `field & mask == value`, so
/// all of them go in the hash key (a prefix is a mask on the raw-address field slots); ranges
/// stay as per-rule checks. Rules are numbered by slot (priority descending, id ascending), the
/// order RuleTable evaluates them in, so "better" is "smaller slot" on both sides.
struct CompiledTable {
    var shapes: [holon_shape] = []
    var keys: [holon_key] = []
    /// First slot of each key's chain, parallel to `keys`.
    var firstSlots: [UInt32] = []
    /// Indexed by slot.
    var rules: [holon_rule] = []
    var checks: [holon_check] = []
    /// Rules in slot order.
    var ordered: [Rule] = []
}

/// Why a rule set cannot become an XDP table.
public enum RuleCompileError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicateID(UInt32)
    case invalidRule(id: UInt32, RuleValidationError)
    case tooManyRules(Int)
    case tooManyShapes
    case tooManyChecks(id: UInt32)
    case chainTooLong(id: UInt32)
    case payloadNotCompiled(id: UInt32)

    public var description: String {
        switch self {
        case .duplicateID(let id): return "two rules have id \(id)"
        case .invalidRule(let id, let e): return "rule \(id): \(e)"
        case .tooManyRules(let n): return "\(n) rules exceed the XDP table's \(HOLON_MAX_RULES)"
        case .tooManyShapes:
            return "more than \(HOLON_MAX_SHAPES) distinct predicate shapes (sets of fields/masks/prefix lengths)"
        case .payloadNotCompiled(let id): return "rule \(id): byte predicates are not compiled for XDP by this build"
        case .tooManyChecks(let id): return "rule \(id) has more than \(HOLON_MAX_CHECKS) range predicates"
        case .chainTooLong(let id):
            return "rule \(id): more than \(HOLON_MAX_CHAIN) rules share the same exact predicates and differ only by ranges"
        }
    }
}

enum RuleCompiler {
    /// Field slot of a rule field: its id in the field table, which is its slot in the XDP
    /// program. Checked: a field whose id is not one of the table's rule-field slots would make
    /// the filter test another field (or a raw address view) than the reference matcher.
    static func fieldSlot(_ f: RuleField) -> UInt8 {
        let id = f.id
        precondition(id < UInt32(HOLON_F_RULE_FIELDS) && id < UInt32(HOLON_F_SRC_V4.rawValue),
                      "field \(f.rawValue) has id \(id), outside the table's rule-field slots")
        return UInt8(id)
    }

    struct Element {
        var field: UInt8
        var mask: UInt64
        var value: UInt64
    }

    struct ShapeSig: Hashable {
        var fields: SIMD8<UInt8>
        var masks: SIMD8<UInt64>
        var count: Int
    }

    struct KeySig: Hashable {
        var shape: UInt32
        var values: SIMD8<UInt64>
    }

    static func v4Mask(_ len: UInt8) -> UInt64 {
        len == 0 ? 0 : UInt64(UInt32.max << UInt32(32 - min(len, 32)))
    }

    static func v6Mask(_ len: UInt8) -> (UInt64, UInt64) {
        let l = min(Int(len), 128)
        let hi: UInt64 = l == 0 ? 0 : (l >= 64 ? .max : UInt64.max << UInt64(64 - l))
        let lo: UInt64 = l <= 64 ? 0 : (l == 128 ? .max : UInt64.max << UInt64(128 - l))
        return (hi, lo)
    }

    /// The masked comparisons and range checks of one rule; nil when two predicates contradict
    /// each other (the rule can never match, so it never wins and needs no key).
    static func lower(_ rule: Rule) -> (elements: [Element], ranges: [holon_check])? {
        var byField: [UInt8: Element] = [:]
        var ranges: [holon_check] = []
        func add(_ f: UInt8, _ m: UInt64, _ v: UInt64) -> Bool {
            if let e = byField[f] {
                // x&m1==v1 ∧ x&m2==v2 ⇔ x&(m1|m2)==v1|v2, when they agree on m1&m2.
                guard e.value & m == v & e.mask else { return false }
                byField[f] = Element(field: f, mask: e.mask | m, value: e.value | v)
            } else {
                byField[f] = Element(field: f, mask: m, value: v & m)
            }
            return true
        }
        for p in rule.predicates {
            var ok = true
            switch p {
            case .equals(let f, let v):
                ok = add(fieldSlot(f), .max, v)
            case .mask(let f, let m, let v):
                ok = add(fieldSlot(f), m, v)
            case .range(let f, let r):
                var c = holon_check()
                c.field = fieldSlot(f)
                c.kind = UInt8(HOLON_C_RANGE.rawValue)
                c.a = r.lowerBound
                c.b = r.upperBound
                ranges.append(c)
            case .prefix(let f, .v4(let a), let len):
                let slot = UInt8(f == .srcIP ? HOLON_F_SRC_V4.rawValue : HOLON_F_DST_V4.rawValue)
                let m = v4Mask(len)
                ok = add(slot, m, UInt64(a) & m)
            case .prefix(let f, .v6(let hi, let lo), let len):
                let (mh, ml) = v6Mask(len)
                let hiSlot = UInt8(f == .srcIP ? HOLON_F_SRC_V6_HI.rawValue : HOLON_F_DST_V6_HI.rawValue)
                // The high half is always keyed, even with mask 0: it is what says "IPv6 packet".
                ok = add(hiSlot, mh, hi & mh)
                if ok && ml != 0 { ok = add(hiSlot + 1, ml, lo & ml) }
            case .bytes:
                return nil   // refused by compile before lowering
            }
            if !ok { return nil }
        }
        return (byField.values.sorted { $0.field < $1.field }, ranges)
    }

    /// `bootOffsetNs`: wall-clock ns minus boot-clock ns now, to turn a rule's wall-clock expiry
    /// into the kernel's CLOCK_BOOTTIME (``BootClock``).
    static func compile(_ input: [Rule], bootOffsetNs: Int64 = BootClock.offsetNs()) throws(RuleCompileError) -> CompiledTable {
        guard input.count <= Int(HOLON_MAX_RULES) else { throw .tooManyRules(input.count) }
        var ids = Set<UInt32>(minimumCapacity: input.count)
        for r in input {
            guard ids.insert(r.id).inserted else { throw .duplicateID(r.id) }
            do { try r.validate() } catch { throw .invalidRule(id: r.id, error) }
            if r.predicates.contains(where: { if case .bytes = $0 { return true } else { return false } }) {
                throw .payloadNotCompiled(id: r.id)
            }
        }
        var t = CompiledTable()
        t.ordered = input.sorted { a, b in a.priority != b.priority ? a.priority > b.priority : a.id < b.id }
        t.rules.reserveCapacity(t.ordered.count)
        var shapeIDs: [ShapeSig: UInt32] = [:]
        var keyIndex: [KeySig: Int] = [:]
        keyIndex.reserveCapacity(t.ordered.count)
        /// Per key: last slot of its chain, chain length, and whether the last rule has checks.
        var chainTail: [(slot: UInt32, length: Int, open: Bool)] = []

        for (slotIndex, rule) in t.ordered.enumerated() {
            let slot = UInt32(slotIndex)
            var hr = holon_rule()
            hr.id = rule.id
            hr.next = HOLON_NO_SLOT
            hr.action = actionCode(rule.action)
            hr.check_start = UInt32(t.checks.count)
            hr.expires_ns = rule.expiresAt.map { BootClock.boot(fromWall: $0, offsetNs: bootOffsetNs) } ?? 0
            guard let (elements, ranges) = lower(rule) else {
                t.rules.append(hr)   // contradictory: stored for its id, reachable by no key
                continue
            }
            var checks = ranges
            let keyed = elements.prefix(Int(HOLON_MAX_KEY_ELEMS))
            for e in elements.dropFirst(Int(HOLON_MAX_KEY_ELEMS)) {
                var c = holon_check()
                c.field = e.field
                c.kind = UInt8(HOLON_C_MASK.rawValue)
                c.a = e.mask
                c.b = e.value
                checks.append(c)
            }
            guard checks.count <= Int(HOLON_MAX_CHECKS) else { throw .tooManyChecks(id: rule.id) }
            hr.nchecks = UInt8(checks.count)
            t.checks += checks

            var sig = ShapeSig(fields: .zero, masks: .zero, count: keyed.count)
            var values = SIMD8<UInt64>.zero
            for (i, e) in keyed.enumerated() {
                sig.fields[i] = e.field
                sig.masks[i] = e.mask
                values[i] = e.value
            }
            // Shapes are numbered in order of first appearance, which is slot order, so the
            // array is already sorted by each shape's best slot.
            let shapeID: UInt32
            if let s = shapeIDs[sig] {
                shapeID = s
            } else {
                guard t.shapes.count < Int(HOLON_MAX_SHAPES) else { throw .tooManyShapes }
                shapeID = UInt32(t.shapes.count)
                shapeIDs[sig] = shapeID
                var sh = holon_shape()
                sh.min_slot = slot
                sh.nelems = UInt32(keyed.count)
                withUnsafeMutableBytes(of: &sh.field) { f in
                    for i in 0..<keyed.count { f[i] = sig.fields[i] }
                }
                withUnsafeMutableBytes(of: &sh.mask) { m in
                    let p = m.bindMemory(to: UInt64.self)
                    for i in 0..<keyed.count { p[i] = sig.masks[i] }
                }
                t.shapes.append(sh)
            }
            let ks = KeySig(shape: shapeID, values: values)
            if let k = keyIndex[ks] {
                let tail = chainTail[k]
                // Behind a rule without checks, a rule with the same key can never win.
                if tail.open {
                    guard tail.length < Int(HOLON_MAX_CHAIN) else { throw .chainTooLong(id: rule.id) }
                    t.rules[Int(tail.slot)].next = slot
                    chainTail[k] = (slot, tail.length + 1, !checks.isEmpty)
                }
            } else {
                keyIndex[ks] = t.keys.count
                var key = holon_key()
                key.shape = shapeID
                withUnsafeMutableBytes(of: &key.value) { v in
                    let p = v.bindMemory(to: UInt64.self)
                    for i in 0..<keyed.count { p[i] = values[i] }
                }
                t.keys.append(key)
                t.firstSlots.append(slot)
                chainTail.append((slot, 1, !checks.isEmpty))
            }
            t.rules.append(hr)
        }
        return t
    }

    static func actionCode(_ a: Action) -> UInt8 {
        switch a {
        case .drop: return UInt8(HOLON_A_DROP.rawValue)
        case .pass: return UInt8(HOLON_A_PASS.rawValue)
        case .count: return UInt8(HOLON_A_COUNT.rawValue)
        case .rateLimit: return UInt8(HOLON_A_RATE.rawValue)
        }
    }
}
