import CHolonKernels

/// Turns structured data into hypervectors.
///
/// The encoding of a record is `bundle_f(role(f) ⊗ filler(f))` over its fields, where:
/// - a plain value's filler is its atom (``AtomKey``): `Int`, `String`, `Bool`, `Double`;
/// - a scalar marker's filler is the ``ScalarEncoder`` vector of its level;
/// - a nested record's filler is that record's encoding;
/// - a list's filler is `bundle_i(permute(item_i, i))`, a set's `bundle_i(item_i)`, where a plain
///   item is its atom and a record item its encoding.
/// Bundles are ternary majorities (0 on ties), so the result does not depend on visit order.
///
/// One `VectorEncoder` per thread (named so it does not shadow Swift's Codable `Encoder`): it keeps a private cache of bound `role ⊗ filler` pairs, so a field
/// value seen before costs one probe and no lock. The shared ``VectorSpace`` behind it is
/// thread-safe. A flat record encodes without allocating when written `into:` a caller's vector.
public struct VectorEncoder: WalkVisitor {
    public let space: VectorSpace
    public let scalars: ScalarEncoder
    /// Bound pairs of the records being encoded, innermost record last.
    @usableFromInline var items: [Hypervector] = []
    @usableFromInline var pairs: PairCache

    public init(space: VectorSpace, pairCacheSlots: Int = 4096) {
        self.space = space
        self.scalars = space.scalarEncoder
        self.pairs = PairCache(slots: pairCacheSlots)
        items.reserveCapacity(64)
    }

    public var dimension: Int { space.dimension }

    // MARK: Entry points

    /// The vector of a record.
    public mutating func encode<W: Walkable>(_ value: W) -> Hypervector {
        var out = Hypervector(dimension: dimension)
        encode(value, into: &out)
        return out
    }

    /// Writes the vector of a record into `out`; allocates nothing for flat records whose field
    /// values have been seen before.
    public mutating func encode<W: Walkable>(_ value: W, into out: inout Hypervector) {
        let start = items.count
        value.walk(into: &self)
        bundleItems(from: start, into: &out)
    }

    // MARK: WalkVisitor

    public mutating func visit(_ field: FieldName, _ value: Int) { addPair(field, .int(value)) }
    public mutating func visit(_ field: FieldName, _ value: String) { addPair(field, .string(value)) }
    public mutating func visit(_ field: FieldName, _ value: Bool) { addPair(field, .bool(value)) }
    public mutating func visit(_ field: FieldName, _ value: Double) { addPair(field, .double(value)) }

    public mutating func visit(_ field: FieldName, scalar value: Double, _ encoding: ScalarEncoding) {
        let level = scalars.level(of: value, encoding)
        let key = AtomKey.pair(field.key, Self.scalarKey(level: level, encoding))
        if let v = pairs[key] { items.append(v); return }
        var v = Hypervector(dimension: dimension)
        scalars.encode(level: level, into: &v)
        v.formBind(space.atom(field.key))
        pairs[key] = v
        items.append(v)
    }

    public mutating func visit<W: Walkable>(_ field: FieldName, record: W) {
        let inner = encode(record)
        items.append(Hypervector.bind(space.atom(field.key), inner))
    }

    public mutating func visitList<W: Walkable>(_ field: FieldName, _ list: some Collection<W>) {
        var members: [Hypervector] = []
        members.reserveCapacity(list.count)
        for (i, item) in list.enumerated() { members.append(encode(item).permuted(by: i)) }
        appendCollection(field, members)
    }

    public mutating func visitSet<W: Walkable>(_ field: FieldName, _ set: some Collection<W>) {
        appendCollection(field, set.map { encode($0) })
    }

    public mutating func visitList(_ field: FieldName, scalars list: some Collection<ScalarValue>) {
        appendCollection(field, list.enumerated().map { space.atom($1.key).permuted(by: $0) })
    }

    public mutating func visitSet(_ field: FieldName, scalars set: some Collection<ScalarValue>) {
        appendCollection(field, set.map { space.atom($0.key) })
    }

    // MARK: Internals

    /// The atom key standing for a scalar level under an encoding (only a cache key).
    static func scalarKey(level: Int, _ encoding: ScalarEncoding) -> AtomKey {
        var h: UInt64
        switch encoding {
        case .linear(let lo, let hi): h = StableHash.fmix64(0x6C69 ^ lo.bitPattern) ^ hi.bitPattern
        case .log(let lo, let hi): h = StableHash.fmix64(0x6C6F ^ lo.bitPattern) ^ hi.bitPattern
        case .circular(let p): h = StableHash.fmix64(0x6369 ^ p.bitPattern)
        }
        return AtomKey(rawValue: StableHash.fmix64(h ^ UInt64(level)))
    }

    @inlinable
    mutating func addPair(_ field: FieldName, _ value: AtomKey) {
        let key = AtomKey.pair(field.key, value)
        if let v = pairs[key] {
            items.append(v)
            return
        }
        let v = Hypervector.bind(space.atom(field.key), space.atom(value))
        pairs[key] = v
        items.append(v)
    }

    mutating func appendCollection(_ field: FieldName, _ members: [Hypervector]) {
        let filler = members.isEmpty ? Hypervector(dimension: dimension) : Hypervector.bundle(members)
        items.append(Hypervector.bind(space.atom(field.key), filler))
    }

    @usableFromInline
    mutating func bundleItems(from start: Int, into out: inout Hypervector) {
        precondition(out.dimension == dimension, "VectorEncoder: output dimension \(out.dimension), expected \(dimension)")
        let n = items.count - start
        out.makeUnique()
        if n == 0 {
            let words = 2 * out.wordCount
            out.withMutablePlanes { $0.update(repeating: 0, count: words) }
            return
        }
        let w = out.wordCount
        withUnsafeTemporaryAllocation(of: UnsafePointer<UInt64>?.self, capacity: n) { ptrs in
            for i in 0..<n { ptrs[i] = UnsafePointer(items[start + i].storage.words) }
            holon_bundle(ptrs.baseAddress!, n, w, out.storage.words)
        }
        items.removeSubrange(start...)
    }
}

/// A fixed-size, lock-free (single-owner) map from pair keys to bound vectors: open addressing
/// with a short linear probe; when the probe window is full the home slot is overwritten, so the
/// cache never grows and never rehashes.
@usableFromInline
struct PairCache {
    @usableFromInline var keys: [UInt64]
    @usableFromInline var values: [Hypervector?]
    @usableFromInline let mask: Int
    @usableFromInline static let probe = 4

    init(slots: Int) {
        var n = 16
        while n < slots { n <<= 1 }
        keys = [UInt64](repeating: 0, count: n)
        values = [Hypervector?](repeating: nil, count: n)
        mask = n - 1
    }

    @inlinable
    subscript(key: AtomKey) -> Hypervector? {
        get {
            let k = key.rawValue == 0 ? 1 : key.rawValue  // 0 marks an empty slot
            var i = Int(truncatingIfNeeded: k) & mask
            for _ in 0..<Self.probe {
                if keys[i] == k { return values[i] }
                if keys[i] == 0 { return nil }
                i = (i + 1) & mask
            }
            return nil
        }
        set {
            let k = key.rawValue == 0 ? 1 : key.rawValue
            let home = Int(truncatingIfNeeded: k) & mask
            var i = home
            for _ in 0..<Self.probe {
                if keys[i] == 0 || keys[i] == k { break }
                i = (i + 1) & mask
            }
            if keys[i] != 0 && keys[i] != k { i = home }
            keys[i] = k
            values[i] = newValue
        }
    }
}
