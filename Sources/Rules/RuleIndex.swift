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
        enum Kind: UInt8 { case maskEq, range, v4Prefix, v6Prefix }
        var field: RuleField
        var kind: Kind
        // maskEq: a = mask, b = value; range: a = lo, b = hi;
        // v4Prefix: a = mask, b = masked address; v6Prefix: (a, b) high mask/value, (c, d) low.
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
        var pStart: [Int32] = [], pEnd: [Int32] = []
        // shape → (rule slots, their key hashes)
        var shapeIDs: [[Element]: Int] = [:]
        var shapeMembers: [[(slot: Int32, hash: UInt64)]] = []
        var shapeElements: [[Element]] = []

        for (slot, rule) in rules.enumerated() {
            pStart.append(Int32(preds.count))
            var parts: [(Element, [UInt64])] = []
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
                }
            }
            pEnd.append(Int32(preds.count))
            parts.sort { x, y in
                let kx = (x.0.field.order, x.0.kind.rawValue, x.0.maskHi, x.0.maskLo)
                let ky = (y.0.field.order, y.0.kind.rawValue, y.0.maskHi, y.0.maskLo)
                if kx != ky { return kx < ky }
                return x.1.lexicographicallyPrecedes(y.1)
            }
            let shape = parts.map(\.0)
            var h = Self.seed
            for (_, words) in parts { for w in words { h = Self.mix(h, w) } }
            h = Self.finish(h)
            let sid: Int
            if let s = shapeIDs[shape] {
                sid = s
            } else {
                sid = shapeMembers.count
                shapeIDs[shape] = sid
                shapeMembers.append([])
                shapeElements.append(shape)
            }
            shapeMembers[sid].append((Int32(slot), h))
        }

        var elements: [Element] = []
        var shapes: [Shape] = []
        var keys: [UInt64] = [], lStart: [Int32] = [], lCount: [Int32] = []
        var cands: [Int32] = []
        for sid in shapeMembers.indices {
            let members = shapeMembers[sid]  // already in slot order
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
            lStart += repeatElement(0, count: cap)
            lCount += repeatElement(0, count: cap)
            for h in hashOrder {
                var i = Int(truncatingIfNeeded: h) & (cap - 1)
                while lCount[base + i] != 0 { i = (i + 1) & (cap - 1) }
                let list = byHash[h]!
                keys[base + i] = h
                lStart[base + i] = Int32(cands.count)
                lCount[base + i] = Int32(list.count)
                cands += list
            }
            let eStart = elements.count
            elements += shapeElements[sid]
            shapes.append(Shape(elementStart: eStart, elementEnd: elements.count, tableBase: base,
                                tableMask: cap - 1, minSlot: members[0].slot))
        }
        shapes.sort { $0.minSlot < $1.minSlot }

        predicates = preds
        predicateStart = pStart
        predicateEnd = pEnd
        self.elements = elements
        self.shapes = shapes
        self.keys = keys
        listStart = lStart
        listCount = lCount
        candidates = cands
        linear = rules.count <= Self.linearLimit
        predBuf = Self.copy(preds)
        pStartBuf = Self.copy(pStart)
        pEndBuf = Self.copy(pEnd)
        elemBuf = Self.copy(elements)
        shapeBuf = Self.copy(shapes)
        keyBuf = Self.copy(keys)
        lStartBuf = Self.copy(lStart)
        lCountBuf = Self.copy(lCount)
        candBuf = Self.copy(cands)
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
