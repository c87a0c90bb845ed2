import CHolonXDP
import Packets
import Rules

/// A rule table in the XDP program's layout (holon_xdp_shared.h): tuple-space search with one
/// hash key per *shape*.
///
/// Every equality, mask and prefix predicate is a masked comparison `field & mask == value`, so
/// all of them go in the hash key (a prefix is a mask on the raw-address field slots); ranges
/// stay as per-rule checks. Each rule carries its rank (``RuleCompiler/rank(_:)``), the order
/// RuleTable evaluates rules in, so "better" is "smaller rank" on both sides; a whole-table
/// build puts rule `i` of `ordered` at index `i`, and later edits (``TableEdit``) put rules at
/// any free index.
struct CompiledTable {
    /// Sorted by `min_rank`; `shapes[i].id == i`.
    var shapes: [holon_shape] = []
    /// Parallel to `shapes`: the signature and rule count of each.
    var shapeSigs: [RuleCompiler.ShapeSig] = []
    var shapeCounts: [Int] = []
    var keys: [holon_key] = []
    /// First rule index of each key's chain, parallel to `keys`.
    var firstSlots: [UInt32] = []
    /// Indexed by rule index.
    var rules: [holon_rule] = []
    var checks: [holon_check] = []
    /// Rules in rank order.
    var ordered: [Rule] = []
    /// Indexes in ``ordered`` (ascending) of the rules keyed on less than they have (fewer
    /// fields, or a prefix cut short: ``RuleCompiler/Lowered/narrowed``): a list, so that
    /// recording a table of 1M rules looks up nothing per rule.
    var narrowed: [Int] = []
    /// Of ``narrowed``, those whose prefixes are keyed at ``RuleCompiler/finePrefixKeyStride``.
    var fine: [Int] = []
}

/// Why a rule set cannot become an XDP table.
public enum RuleCompileError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicateID(UInt32)
    case invalidRule(id: UInt32, RuleValidationError)
    case tooManyRules(Int)
    case tooManyShapes
    case tooManyChecks(id: UInt32)
    case chainTooLong(id: UInt32)

    public var description: String {
        switch self {
        case .duplicateID(let id): return "two rules have id \(id)"
        case .invalidRule(let id, let e): return "rule \(id): \(e)"
        case .tooManyRules(let n): return "\(n) rules exceed the XDP table's \(HOLON_MAX_RULES)"
        case .tooManyShapes:
            return "more than \(HOLON_MAX_SHAPES) distinct predicate shapes (sets of fields/masks/prefix lengths)"
        case .tooManyChecks(let id): return "rule \(id) needs more than \(HOLON_MAX_CHECKS) checks (ranges, masks past the key, 8-byte windows of byte predicates)"
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
        /// The payload window the shape keys on (slot HOLON_F_PAYLOAD_KEY); `windowLen` 0: none.
        var window: UInt16 = 0
        var windowLen: UInt8 = 0

        /// Where its keys are: in the key buckets for few fields (a full bucket's in the map
        /// of short keys), else in the map of wide keys.
        var keyClass: holon_key_class { count <= Int(HOLON_SHORT_KEY_ELEMS) ? HOLON_KEYS_BUCKETED : HOLON_KEYS_WIDE }
    }

    /// A key by its shape's signature (not its id: ids are per table generation).
    struct KeySig: Hashable {
        var shape: ShapeSig
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
    static func lower(_ rule: Rule) -> (elements: [Element], ranges: [holon_check], window: holon_check?)? {
        var byField: [UInt8: Element] = [:]
        var ranges: [holon_check] = []
        // The first window of the first byte predicate is keyed (rules that differ only by their
        // bytes then differ by key); every other window is a check.
        var window: holon_check?
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
            case .bytes(let b):
                var checks = byteChecks(b)
                if window == nil {
                    window = checks.removeFirst()
                    byField[UInt8(HOLON_F_PAYLOAD_KEY.rawValue)] = Element(field: UInt8(HOLON_F_PAYLOAD_KEY.rawValue),
                                                                           mask: window!.a, value: window!.b)
                }
                ranges += checks
            }
            if !ok { return nil }
        }
        return (byField.values.sorted { $0.field < $1.field }, ranges, window)
    }

    /// A byte predicate as one check per 8-byte window (holon_xdp_shared.h, HOLON_C_BYTES): the
    /// window's bytes little-endian, byte `offset` lowest, mask zero past the predicate.
    static func byteChecks(_ b: PayloadMatch) -> [holon_check] {
        stride(from: 0, to: b.value.count, by: 8).map { w in
            let n = min(8, b.value.count - w)
            var c = holon_check()
            c.kind = UInt8(HOLON_C_BYTES.rawValue)
            c.offset = UInt16(b.offset + w)
            c.len = UInt8(n)
            for i in 0..<n {
                c.a |= UInt64(b.mask[w + i]) << (8 * UInt64(i))
                c.b |= UInt64(b.value[w + i] & b.mask[w + i]) << (8 * UInt64(i))
            }
            return c
        }
    }

    /// A rule's place in evaluation order, smaller first: priority descending, then id
    /// ascending, as one number that depends on the rule alone (an insert renumbers nothing).
    static func rank(_ r: Rule) -> UInt64 {
        (UInt64(UInt32(Int64(Int32.max) - Int64(r.priority))) << 32) | UInt64(r.id)
    }

    /// What the XDP program needs of one rule, apart from where it is stored: its key (shape
    /// and masked values) and its checks. `key` is nil for a rule whose predicates contradict
    /// each other (it can never match, so it never wins and is linked from no key).
    struct Lowered {
        var shape: ShapeSig
        var key: KeySig?
        var checks: [holon_check]
        var rule: holon_rule
        /// Keyed on less than it has: fewer fields (``narrowedChainLimit``), or an address
        /// prefix cut short (``coarseKeyElement(_:)``). A flag, not the shape it
        /// was narrowed from: every rule of an install is lowered, and a larger value to copy
        /// showed in the time of installing 1M rules.
        var narrowed = false
    }

    /// Rules of more fields than a bucket's key holds (HOLON_SHORT_KEY_ELEMS) are *narrowed*:
    /// keyed on their three most telling fields (``keyOrder(_:)``), the others checked per rule.
    /// Their keys then go in the key buckets, whose lookup the verifier inlines, and not in the
    /// map of wide keys, a kernel call hashing 72 bytes (an IPv6 victim's rule — proto, a port and
    /// the two halves of a /128 — cost 130 ns a packet there, 56 bucketed). The price is that
    /// rules differing only in the fields left out share a key and are walked as one chain; a
    /// chain of narrowed rules longer than this keeps its rules' fields all in the key instead
    /// (``compile(_:bootOffsetNs:)``, ``Dataplane/edit(_:_:bootOffsetNs:counterSlot:)``), so
    /// a packet never walks more than this many rules for having been narrowed.
    static let narrowedChainLimit = 4

    /// Which fields a narrowed key keeps, first first: the low halves of IPv6 addresses (a
    /// /128's host), then addresses, the payload window, ports, and the rest (protocol, TTL,
    /// flags, size classes: few values each, cheap to check and poor at telling keys apart).
    static func keyOrder(_ field: UInt8) -> Int {
        switch UInt32(field) {
        case HOLON_F_SRC_V6_LO.rawValue, HOLON_F_DST_V6_LO.rawValue: return 0
        case HOLON_F_SRC_V6_HI.rawValue, HOLON_F_DST_V6_HI.rawValue, HOLON_F_SRC_V4.rawValue, HOLON_F_DST_V4.rawValue: return 1
        case HOLON_F_PAYLOAD_KEY.rawValue: return 2
        case UInt32(fieldSlot(.srcPort)), UInt32(fieldSlot(.dstPort)): return 3
        default: return 4
        }
    }

    /// Address prefixes are keyed at a multiple of this many bits (``coarseKeyElement(_:)``).
    static let prefixKeyStride = 8

    /// The stride of the second try, for rules whose byte-keyed chain was too long: a list's
    /// prefixes that crowd one /16 (a provider's adjacent networks) are keyed at /16 and /20.
    static let finePrefixKeyStride = 4

    /// `e` as a key keeps it: an address prefix cut to a multiple of ``prefixKeyStride`` bits,
    /// every other element whole; nil when the low half of an IPv6 address keeps no bit (the
    /// high half is in the key, and says "IPv6 packet").
    /// Why: every prefix length is a shape, and a packet that matches none (a real user's) walks
    /// every shape, ~8 ns each inline and ~20 past the 6th. A blocklist of 17 prefix lengths
    /// made a user's packet cost 260 ns; keyed at /8, /16, /24 (and /32) the lengths fold into
    /// 4 shapes an address field, and a rule's own length is one check, made only for packets
    /// its shorter key found. The rules of a chain that would grow past ``narrowedChainLimit``
    /// (a provider's adjacent networks in one /16) a whole build keys at every 4 bits
    /// (``finePrefixKeyStride``), and those still crowded at their own lengths.
    static func coarseKeyElement(_ e: Element, stride: Int = prefixKeyStride) -> Element? {
        let width: Int, isLow: Bool
        switch UInt32(e.field) {
        case HOLON_F_SRC_V4.rawValue, HOLON_F_DST_V4.rawValue: (width, isLow) = (32, false)
        case HOLON_F_SRC_V6_HI.rawValue, HOLON_F_DST_V6_HI.rawValue: (width, isLow) = (64, false)
        case HOLON_F_SRC_V6_LO.rawValue, HOLON_F_DST_V6_LO.rawValue: (width, isLow) = (64, true)
        default: return e
        }
        // Prefix masks only (the lowering makes no other on these slots): ones, then zeros.
        let top: UInt64 = width == 32 ? 0xFFFF_FFFF : .max
        let host = top & ~e.mask
        guard e.mask & ~top == 0, host & (host &+ 1) == 0 else { return e }
        let bits = e.mask.nonzeroBitCount
        let keyed = bits / stride * stride
        if keyed == bits { return e }
        if keyed == 0 && isLow { return nil }
        let mask = keyed == 0 ? 0 : (top << UInt64(width - keyed)) & top
        return Element(field: e.field, mask: mask, value: e.value & mask)
    }

    /// `check_start` and `next` of the result are left for the caller to fill.
    /// `counterSlot`: where the program counts the rule (``CounterSlots``), 0 for by id.
    /// `narrow`: whether a rule keyed on all its fields in this shape may be narrowed (the
    /// table decides: not when that shape's narrowed chains grew too long). A narrowed rule whose
    /// checks would not fit is keyed as it is.
    /// `stride`: how address prefixes are shortened (``coarseKeyElement(_:stride:)``).
    static func lowerForTable(_ rule: Rule, bootOffsetNs: Int64, counterSlot: UInt16 = 0,
                              narrow: (ShapeSig) -> Bool = { _ in true }, stride: Int = prefixKeyStride) throws(RuleCompileError) -> Lowered {
        var hr = holon_rule()
        hr.ctr = counterSlot
        hr.rank = rank(rule)
        hr.id = rule.id
        hr.next = HOLON_NO_SLOT
        hr.action = actionCode(rule.action)
        hr.expires_ns = rule.expiresAt.map { BootClock.boot(fromWall: $0, offsetNs: bootOffsetNs) } ?? 0
        guard let (elements, ranges, window) = lower(rule) else {
            return Lowered(shape: ShapeSig(fields: .zero, masks: .zero, count: 0), key: nil, checks: [], rule: hr)
        }
        var l = split(elements, ranges, window, keyed: elements.prefix(Int(HOLON_MAX_KEY_ELEMS)), rule: hr)
        // Checked before anything is copied: most rules (a /32, a port) have nothing to narrow,
        // and installs of 100k rules time this.
        let fewer = elements.count > Int(HOLON_SHORT_KEY_ELEMS)
        if fewer || elements.contains(where: { coarseKeyElement($0, stride: stride)?.mask != $0.mask }), narrow(l.shape) {
            var keep = elements
            if fewer {
                keep = Array(elements.sorted { (keyOrder($0.field), $0.field) < (keyOrder($1.field), $1.field) }
                    .prefix(Int(HOLON_SHORT_KEY_ELEMS)).sorted { $0.field < $1.field })
            }
            keep = keep.compactMap { coarseKeyElement($0, stride: stride) }
            var n = split(elements, ranges, window, keyed: keep, shortened: true, rule: hr)
            if n.checks.count <= Int(HOLON_MAX_CHECKS) {
                n.narrowed = true
                l = n
            }
        }
        guard l.checks.count <= Int(HOLON_MAX_CHECKS) else { throw .tooManyChecks(id: rule.id) }
        return l
    }

    /// The rule keyed on `keyed` (in field order), its other elements as mask checks after its
    /// ranges and byte windows. `shortened`: some of `keyed` may be prefixes keyed shorter than
    /// the rule's (``coarseKeyElement(_:)``); their own lengths are checked first.
    static func split(_ elements: [Element], _ ranges: [holon_check], _ window: holon_check?, keyed: some Collection<Element>,
                      shortened: Bool = false, rule: holon_rule) -> Lowered {
        var checks = ranges
        var keyedWindow = window
        // Field slots are below 64 (the packet's `present` bits): a mask, not a set, so that
        // lowering a rule allocates nothing more than before (installs of 100k rules time it).
        var inKey: UInt64 = 0
        var front = 0
        for e in keyed {
            inKey |= 1 << UInt64(e.field & 63)
            // A prefix keyed shorter than it is: its own length checked, first (it is what
            // tells the rules behind one shortened key apart).
            if shortened, let whole = elements.first(where: { $0.field == e.field }), whole.mask != e.mask {
                checks.insert(maskCheck(whole), at: front)
                front += 1
            }
        }
        for e in elements where inKey & (1 << UInt64(e.field & 63)) == 0 {
            if e.field == UInt8(HOLON_F_PAYLOAD_KEY.rawValue), let w = window {
                checks.append(w)   // the payload window left out: checked like the rest of its bytes
                keyedWindow = nil
                continue
            }
            checks.append(maskCheck(e))
        }
        var hr = rule
        hr.nchecks = UInt8(truncatingIfNeeded: checks.count)
        var sig = ShapeSig(fields: .zero, masks: .zero, count: keyed.count)
        if let w = keyedWindow {
            sig.window = w.offset
            sig.windowLen = w.len
        }
        var values = SIMD8<UInt64>.zero
        for (i, e) in keyed.enumerated() {
            sig.fields[i] = e.field
            sig.masks[i] = e.mask
            values[i] = e.value
        }
        return Lowered(shape: sig, key: KeySig(shape: sig, values: values), checks: checks, rule: hr)
    }

    /// `field & mask == value` as a rule's check.
    static func maskCheck(_ e: Element) -> holon_check {
        var c = holon_check()
        c.field = e.field
        c.kind = UInt8(HOLON_C_MASK.rawValue)
        c.a = e.mask
        c.b = e.value
        return c
    }

    /// The protocols `rule` can match, as `holon_proto_bit`s: one when it equals a protocol,
    /// all otherwise. A shape's rules together let the program skip the shape for any other.
    static func protocolBits(_ rule: Rule) -> UInt32 {
        for p in rule.predicates { if case .equals(.proto, let v) = p { return holon_proto_bit(v) } }
        return .max
    }

    /// `admits`: the union of its rules' ``protocolBits(_:)``.
    static func shapeStruct(_ sig: ShapeSig, id: UInt32, minRank: UInt64, admits: UInt32) -> holon_shape {
        var sh = holon_shape()
        sh.min_rank = minRank
        sh.proto_skip = ~admits
        sh.id = id
        sh.nelems = UInt32(sig.count)
        sh.poff = sig.window
        sh.plen = sig.windowLen
        sh.key_class = UInt8(sig.keyClass.rawValue)
        withUnsafeMutableBytes(of: &sh.field) { f in
            for i in 0..<sig.count { f[i] = sig.fields[i] }
        }
        withUnsafeMutableBytes(of: &sh.mask) { m in
            let p = m.bindMemory(to: UInt64.self)
            for i in 0..<sig.count { p[i] = sig.masks[i] }
        }
        return sh
    }

    static func keyStruct(_ k: KeySig, shapeID: UInt32) -> holon_key {
        var key = holon_key()
        key.shape = shapeID
        withUnsafeMutableBytes(of: &key.value) { v in
            let p = v.bindMemory(to: UInt64.self)
            for i in 0..<k.shape.count { p[i] = k.values[i] }
        }
        return key
    }

    /// The first bytes of `k`, what a map of short keys holds (its shape must be short).
    static func shortKey(_ k: holon_key) -> holon_short_key {
        holon_short_key(shape: k.shape, pad: 0, value: (k.value.0, k.value.1, k.value.2))
    }

    /// How many rules the program walks in a chain before it certainly stops: up to and
    /// including the first rule without checks (it always matches, so nothing behind it can
    /// win), or all of them. Rules behind that one stay linked, so deleting it needs no relink.
    static func walkedLength(_ chain: some Sequence<holon_rule>) -> (length: Int, overflow: UInt32?) {
        var n = 0
        for r in chain {
            n += 1
            if n > Int(HOLON_MAX_CHAIN) { return (n, r.id) }
            if r.nchecks == 0 { break }
        }
        return (n, nil)
    }

    /// Validation shared by whole-table builds and edits: ids unique, every rule valid.
    static func validate(_ input: [Rule]) throws(RuleCompileError) {
        guard input.count <= Int(HOLON_MAX_RULES) else { throw .tooManyRules(input.count) }
        var ids = Set<UInt32>(minimumCapacity: input.count)
        for r in input {
            guard ids.insert(r.id).inserted else { throw .duplicateID(r.id) }
            do { try r.validate() } catch { throw .invalidRule(id: r.id, error) }
        }
    }

    /// `bootOffsetNs`: wall-clock ns minus boot-clock ns now, to turn a rule's wall-clock expiry
    /// into the kernel's CLOCK_BOOTTIME (``BootClock``).
    /// The rules' counter slots are left 0 (count by id): ``CounterSlots/assign(_:)`` gives
    /// them, in one pass over `rules`, once the table compiled.
    static func compile(_ input: [Rule], bootOffsetNs: Int64 = BootClock.offsetNs()) throws(RuleCompileError) -> CompiledTable {
        try validate(input)
        // Narrowed where it can be; then, if some narrowed chains grew too long, once more with
        // their narrowed rules' prefixes keyed at every 4 bits; then, for as long as chains are
        // still crowded, with their narrowed rules keyed whole. Only their rules: a blocklist
        // whose /20s crowd one /16 keeps its other /20s keyed at /16. Each further pass keys
        // more rules whole, so it ends, at the latest when no rule is narrowed; usually one
        // pass does (a rule keyed whole rarely joins a narrowed chain: only a prefix of a
        // length the finer stride keys as it is).
        var pass = try build(input, bootOffsetNs: bootOffsetNs, whole: [], fine: [])
        if pass.crowded.isEmpty { return pass.table }
        let fine = pass.crowded
        var whole = Set<Int>()
        pass = try build(input, bootOffsetNs: bootOffsetNs, whole: whole, fine: fine)
        while !pass.crowded.isEmpty {
            whole.formUnion(pass.crowded)
            pass = try build(input, bootOffsetNs: bootOffsetNs, whole: whole, fine: fine)
        }
        return pass.table
    }

    /// One pass of ``compile(_:bootOffsetNs:)``, the rules at the indexes `whole` (in rank
    /// order) not narrowed, those at `fine` with their prefixes keyed at
    /// ``finePrefixKeyStride``; `crowded`: the narrowed rules that made a chain longer than
    /// ``narrowedChainLimit``, by the same indexes.
    static func build(_ input: [Rule], bootOffsetNs: Int64, whole: Set<Int>, fine: Set<Int>) throws(RuleCompileError) -> (table: CompiledTable, crowded: Set<Int>) {
        var t = CompiledTable()
        var crowdedRules = Set<Int>()   // indexes in `t.ordered`
        t.ordered = input.sorted { rank($0) < rank($1) }
        t.rules.reserveCapacity(t.ordered.count)
        var shapeIDs: [ShapeSig: UInt32] = [:]
        var keyIndex: [KeySig: Int] = [:]
        keyIndex.reserveCapacity(t.ordered.count)
        /// Per key: last index of its chain, how many rules a packet may walk in it, and its
        /// narrowed rules (indexes in `t.ordered`; nil: none).
        var chainTail: [(index: UInt32, walked: Int, closed: Bool, narrowed: [Int]?)] = []

        for (i, rule) in t.ordered.enumerated() {
            let index = UInt32(i)
            let stride = fine.contains(i) ? finePrefixKeyStride : prefixKeyStride
            var l = try lowerForTable(rule, bootOffsetNs: bootOffsetNs, narrow: { _ in !whole.contains(i) }, stride: stride)
            if l.narrowed {
                t.narrowed.append(i)
                if fine.contains(i) { t.fine.append(i) }
            }
            l.rule.check_start = UInt32(t.checks.count)
            t.checks += l.checks
            guard let ks = l.key else {
                t.rules.append(l.rule)   // contradictory: stored for its id, reachable by no key
                continue
            }
            // Shapes are numbered in order of first appearance, which is rank order, so the
            // array is already sorted by each shape's best rank.
            let shapeID: UInt32
            if let s = shapeIDs[l.shape] {
                shapeID = s
                t.shapeCounts[Int(s)] += 1
                t.shapes[Int(s)].proto_skip &= ~protocolBits(rule)
            } else {
                guard t.shapes.count < Int(HOLON_MAX_SHAPES) else { throw .tooManyShapes }
                shapeID = UInt32(t.shapes.count)
                shapeIDs[l.shape] = shapeID
                t.shapes.append(shapeStruct(l.shape, id: shapeID, minRank: l.rule.rank, admits: protocolBits(rule)))
                t.shapeSigs.append(l.shape)
                t.shapeCounts.append(1)
            }
            if let k = keyIndex[ks] {
                let tail = chainTail[k]
                t.rules[Int(tail.index)].next = index
                var walked = tail.walked
                var narrowed = tail.narrowed
                if l.narrowed { narrowed = (narrowed ?? []) + [i] }
                if !tail.closed {
                    walked += 1
                    if let narrowed, walked > narrowedChainLimit {
                        crowdedRules.formUnion(narrowed)   // keyed whole in the next pass
                    } else {
                        guard walked <= Int(HOLON_MAX_CHAIN) else { throw .chainTooLong(id: rule.id) }
                    }
                }
                chainTail[k] = (index, walked, tail.closed || l.checks.isEmpty, narrowed)
            } else {
                keyIndex[ks] = t.keys.count
                t.keys.append(keyStruct(ks, shapeID: shapeID))
                t.firstSlots.append(index)
                chainTail.append((index, 1, l.checks.isEmpty, l.narrowed ? [i] : nil))
            }
            t.rules.append(l.rule)
        }
        return (t, crowdedRules)
    }

    static func actionCode(_ a: Action) -> UInt8 {
        switch a {
        case .drop: return UInt8(HOLON_A_DROP.rawValue)
        case .pass: return UInt8(HOLON_A_PASS.rawValue)
        case .count: return UInt8(HOLON_A_COUNT.rawValue)
        case .rateLimit: return UInt8(HOLON_A_RATE.rawValue)
        case .synAuth: return UInt8(HOLON_A_SYNAUTH.rawValue)
        case .flowCheck: return UInt8(HOLON_A_FLOWCHECK.rawValue)
        }
    }
}
