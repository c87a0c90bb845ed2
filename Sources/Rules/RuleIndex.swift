import Packets

/// The compiled, immutable form of a rule set: tuple-space search.
///
/// Rules are numbered by *slot*, their position in evaluation order (priority descending, id
/// ascending), so "better rule" is simply "smaller slot". Each rule's equality and prefix
/// predicates define its *shape* — the sorted list of (field, kind, prefix length) — and its
/// *key* — the values (masked addresses) in that order. Per shape, a hash table maps a key hash
/// to the rules with that key, in slot order. A packet computes one key per shape, looks it up
/// and verifies candidates in full (all predicates, so a hash collision can never change a
/// verdict). Shapes are visited in order of their best slot and the search stops as soon as no
/// remaining shape can beat the best match found; rules with neither equality nor prefix
/// predicates form the empty shape, a single bucket scanned in order.
///
/// Small tables (≤ ``linearLimit`` rules) skip the hashing: scanning the rules in slot order and
/// stopping at the first match is the same semantics and cheaper than one lookup per shape.
///
/// The arrays are read-only after `init`; the per-packet loops read them through unsafe buffers
/// so they pay no bounds checks (every index comes from `init`'s own bookkeeping).
final class RuleIndex: @unchecked Sendable {
    static let linearLimit = 16

    struct CompiledPredicate {
        enum Kind: UInt8 { case maskEq, range, v4Prefix, v6Prefix, payload }
        var field: RuleField
        var kind: Kind
        // maskEq: a = mask, b = value; range: a = lo, b = hi;
        // v4Prefix: a = mask, b = masked address; v6Prefix: (a, b) high mask/value, (c, d) low;
        // payload: a = index in `payloadMatches` (`field` unused).
        var a: UInt64, b: UInt64, c: UInt64 = 0, d: UInt64 = 0
    }

    struct Element: Hashable {
        enum Kind: UInt8 { case equals, v4Prefix, v6Prefix }
        var field: RuleField
        var kind: Kind
        var maskHi: UInt64
        var maskLo: UInt64
    }

    struct Shape {
        var elementStart: Int
        var elementEnd: Int
        var tableBase: Int
        var tableMask: Int
        /// Best (smallest) slot among the shape's rules.
        var minSlot: Int32
    }

    let predicates: [CompiledPredicate]
    /// The byte predicates, verified with the rest (never hashed: few rules carry them).
    let payloadMatches: [PayloadMatch]
    /// Per slot: range of `predicates`.
    let predicateStart: [Int32]
    let predicateEnd: [Int32]
    let elements: [Element]
    let shapes: [Shape]
    /// Open-addressed tables of all shapes, back to back; `listCount == 0` marks an empty entry.
    let keys: [UInt64]
    let listStart: [Int32]
    let listCount: [Int32]
    let candidates: [Int32]
    let linear: Bool

    // Unsafe views of the arrays above, for the per-packet path; valid for self's lifetime
    // (the arrays are immutable `let`s owned by self and never mutated, so their storage stays put).
    private let predBuf: UnsafeMutableBufferPointer<CompiledPredicate>
    private let pStartBuf: UnsafeMutableBufferPointer<Int32>
    private let pEndBuf: UnsafeMutableBufferPointer<Int32>
    private let elemBuf: UnsafeMutableBufferPointer<Element>
    private let shapeBuf: UnsafeMutableBufferPointer<Shape>
    private let keyBuf: UnsafeMutableBufferPointer<UInt64>
    private let lStartBuf: UnsafeMutableBufferPointer<Int32>
    private let lCountBuf: UnsafeMutableBufferPointer<Int32>
    private let candBuf: UnsafeMutableBufferPointer<Int32>

    private static func copy<T>(_ a: [T]) -> UnsafeMutableBufferPointer<T> {
        let b = UnsafeMutableBufferPointer<T>.allocate(capacity: max(a.count, 1))
        _ = b.initialize(from: a)
        return UnsafeMutableBufferPointer(rebasing: b[0..<a.count])
    }

    deinit {
        for b in [pStartBuf, pEndBuf, lStartBuf, lCountBuf, candBuf] { b.baseAddress?.deallocate() }
        predBuf.baseAddress?.deallocate()
        elemBuf.baseAddress?.deallocate()
        shapeBuf.baseAddress?.deallocate()
        keyBuf.baseAddress?.deallocate()
    }

    static let seed: UInt64 = 0x243F_6A88_85A3_08D3

    @inline(__always)
    static func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
        let x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
        return x ^ (x >> 29)
    }

    @inline(__always)
    static func finish(_ h: UInt64) -> UInt64 {
        var x = h
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        return x
    }

    /// `rules` must be in slot order and valid.
    init(_ rules: [Rule]) {
        var preds: [CompiledPredicate] = []
        var payloads: [PayloadMatch] = []
        var pStart: [Int32] = [], pEnd: [Int32] = []
        var groups = ShapeGroups()
        for (slot, rule) in rules.enumerated() {
            pStart.append(Int32(preds.count))
            let parts = Self.compile(rule, into: &preds, payloads: &payloads)
            pEnd.append(Int32(preds.count))
            let (shape, hash) = Self.shapeAndKeyHash(parts)
            groups.add(slot: Int32(slot), shape: shape, hash: hash)
        }
        var tables = HashTables()
        for sid in groups.members.indices {
            tables.append(shape: groups.elements[sid], members: groups.members[sid])
        }
        // Visiting shapes best slot first lets `match` stop once no shape can beat its best.
        tables.shapes.sort { $0.minSlot < $1.minSlot }

        predicates = preds
        payloadMatches = payloads
        predicateStart = pStart
        predicateEnd = pEnd
        elements = tables.elements
        shapes = tables.shapes
        keys = tables.keys
        listStart = tables.listStart
        listCount = tables.listCount
        candidates = tables.candidates
        linear = rules.count <= Self.linearLimit
        predBuf = Self.copy(preds)
        pStartBuf = Self.copy(pStart)
        pEndBuf = Self.copy(pEnd)
        elemBuf = Self.copy(tables.elements)
        shapeBuf = Self.copy(tables.shapes)
        keyBuf = Self.copy(tables.keys)
        lStartBuf = Self.copy(tables.listStart)
        lCountBuf = Self.copy(tables.listCount)
        candBuf = Self.copy(tables.candidates)
    }

    /// One element of a rule's shape with the key words it contributes.
    private typealias KeyPart = (element: Element, words: [UInt64])

    /// Appends `rule`'s predicates, compiled, to `preds` (all are verified per candidate) and
    /// returns the equality and prefix ones as key parts (only those can be hashed).
    private static func compile(_ rule: Rule, into preds: inout [CompiledPredicate], payloads: inout [PayloadMatch]) -> [KeyPart] {
        var parts: [KeyPart] = []
        for p in rule.predicates {
            switch p {
            case .equals(let f, let v):
                preds.append(.init(field: f, kind: .maskEq, a: .max, b: v))
                parts.append((Element(field: f, kind: .equals, maskHi: .max, maskLo: 0), [v]))
            case .range(let f, let r):
                preds.append(.init(field: f, kind: .range, a: r.lowerBound, b: r.upperBound))
            case .mask(let f, let m, let v):
                preds.append(.init(field: f, kind: .maskEq, a: m, b: v))
            case .prefix(let f, .v4(let addr), let len):
                let m = UInt64(Predicate.v4Mask(len))
                let v = UInt64(addr) & m
                preds.append(.init(field: f, kind: .v4Prefix, a: m, b: v))
                parts.append((Element(field: f, kind: .v4Prefix, maskHi: m, maskLo: 0), [v]))
            case .prefix(let f, .v6(let hi, let lo), let len):
                let (mh, ml) = Predicate.v6Mask(len)
                preds.append(.init(field: f, kind: .v6Prefix, a: mh, b: hi & mh, c: ml, d: lo & ml))
                parts.append((Element(field: f, kind: .v6Prefix, maskHi: mh, maskLo: ml), [hi & mh, lo & ml]))
            case .bytes(let b):
                preds.append(.init(field: .payloadLen, kind: .payload, a: UInt64(payloads.count), b: 0))
                payloads.append(b)
            }
        }
        return parts
    }

    /// Sorts the key parts into canonical order (so rules written in any predicate order share a
    /// shape) and returns the shape and the hash of the key, mixed the way `match` mixes it.
    private static func shapeAndKeyHash(_ unsorted: [KeyPart]) -> (shape: [Element], hash: UInt64) {
        let parts = unsorted.sorted { x, y in
            let kx = (x.element.field.order, x.element.kind.rawValue, x.element.maskHi, x.element.maskLo)
            let ky = (y.element.field.order, y.element.kind.rawValue, y.element.maskHi, y.element.maskLo)
            if kx != ky { return kx < ky }
            return x.words.lexicographicallyPrecedes(y.words)
        }
        var h = seed
        for part in parts { for w in part.words { h = mix(h, w) } }
        return (parts.map(\.element), finish(h))
    }

    /// Rules grouped by shape, shapes numbered in order of first appearance, members in slot order.
    private struct ShapeGroups {
        var ids: [[Element]: Int] = [:]
        var members: [[(slot: Int32, hash: UInt64)]] = []
        var elements: [[Element]] = []

        mutating func add(slot: Int32, shape: [Element], hash: UInt64) {
            let sid: Int
            if let s = ids[shape] {
                sid = s
            } else {
                sid = members.count
                ids[shape] = sid
                members.append([])
                elements.append(shape)
            }
            members[sid].append((slot, hash))
        }
    }

    /// The flat arrays `match` reads: every shape's elements and open-addressed hash table back
    /// to back, each table entry pointing at its run of candidate slots.
    private struct HashTables {
        var elements: [Element] = []
        var shapes: [Shape] = []
        var keys: [UInt64] = [], listStart: [Int32] = [], listCount: [Int32] = []
        var candidates: [Int32] = []

        /// Adds one shape: its members (in slot order) grouped by key hash, in a power-of-two
        /// table at most half full so linear probing stays short.
        mutating func append(shape: [Element], members: [(slot: Int32, hash: UInt64)]) {
            var byHash: [UInt64: [Int32]] = [:]
            var hashOrder: [UInt64] = []
            for m in members {
                if byHash[m.hash] == nil { hashOrder.append(m.hash) }
                byHash[m.hash, default: []].append(m.slot)
            }
            var cap = 2
            while cap < hashOrder.count * 2 { cap *= 2 }
            let base = keys.count
            keys += repeatElement(0, count: cap)
            listStart += repeatElement(0, count: cap)
            listCount += repeatElement(0, count: cap)
            for h in hashOrder {
                var i = Int(truncatingIfNeeded: h) & (cap - 1)
                while listCount[base + i] != 0 { i = (i + 1) & (cap - 1) }
                let list = byHash[h]!
                keys[base + i] = h
                listStart[base + i] = Int32(candidates.count)
                listCount[base + i] = Int32(list.count)
                candidates += list
            }
            let eStart = elements.count
            elements += shape
            shapes.append(Shape(elementStart: eStart, elementEnd: elements.count, tableBase: base,
                                tableMask: cap - 1, minSlot: members[0].slot))
        }
    }

    /// The best matching slot, or nil.
    func match(_ f: PacketFeatures) -> Int32? {
        if linear {
            for slot in 0..<Int32(pStartBuf.count) where matches(slot: slot, f) { return slot }
            return nil
        }
        let elements = elemBuf, keys = keyBuf, listCount = lCountBuf, listStart = lStartBuf, candidates = candBuf
        var best = Int32.max
        shapeLoop: for s in shapeBuf {
            if s.minSlot >= best { break }
            var h = Self.seed
            var e = s.elementStart
            while e < s.elementEnd {
                let el = elements[e]
                switch el.kind {
                case .equals:
                    guard let v = el.field.value(in: f) else { continue shapeLoop }
                    h = Self.mix(h, v)
                case .v4Prefix:
                    guard case .v4(let x) = el.field == .srcIP ? f.srcIP : f.dstIP else { continue shapeLoop }
                    h = Self.mix(h, UInt64(x) & el.maskHi)
                case .v6Prefix:
                    guard case .v6(let hi, let lo) = el.field == .srcIP ? f.srcIP : f.dstIP else { continue shapeLoop }
                    h = Self.mix(Self.mix(h, hi & el.maskHi), lo & el.maskLo)
                }
                e += 1
            }
            h = Self.finish(h)
            var i = Int(truncatingIfNeeded: h) & s.tableMask
            while true {
                let t = s.tableBase + i
                let n = Int(listCount[t])
                if n == 0 { break }
                if keys[t] == h {
                    let start = Int(listStart[t])
                    for k in start..<(start + n) {
                        let slot = candidates[k]
                        if slot >= best { break }
                        if matches(slot: slot, f) {
                            best = slot
                            break
                        }
                    }
                    break
                }
                i = (i + 1) & s.tableMask
            }
        }
        return best == .max ? nil : best
    }

    @inline(__always)
    func matches(slot: Int32, _ f: PacketFeatures) -> Bool {
        var k = Int(pStartBuf[Int(slot)])
        let end = Int(pEndBuf[Int(slot)])
        while k < end {
            let p = predBuf[k]
            switch p.kind {
            case .maskEq:
                guard let v = p.field.value(in: f), v & p.a == p.b else { return false }
            case .range:
                guard let v = p.field.value(in: f), v >= p.a, v <= p.b else { return false }
            case .v4Prefix:
                guard case .v4(let x) = p.field == .srcIP ? f.srcIP : f.dstIP, UInt64(x) & p.a == p.b else { return false }
            case .v6Prefix:
                guard case .v6(let hi, let lo) = p.field == .srcIP ? f.srcIP : f.dstIP,
                      hi & p.a == p.b, lo & p.c == p.d else { return false }
            case .payload:
                guard payloadMatches[Int(p.a)].matches(f) else { return false }
            }
            k += 1
        }
        return true
    }
}

extension RuleField {
    /// Position in the canonical list (a stable sort key).
    var order: Int { Self.allCases.firstIndex(of: self)! }
}
