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
    /// Planes of the bound pairs of the records being encoded, innermost record last. Raw
    /// pointers (no reference counting on the hot path): each points into a vector owned by the
    /// pair cache or by `keepAlive` until the outermost `encode` returns.
    @usableFromInline var items: [UnsafePointer<UInt64>] = []
    /// Vectors made during an encode (nested records, pairs evicted from the cache) that `items`
    /// may still point into.
    @usableFromInline var keepAlive: [Hypervector] = []
    /// Positions in `items` of vectors that may have zero lanes (nested records, lists, sets);
    /// every other item is a bound pair of dense atoms, so most bundles take the dense kernel.
    @usableFromInline var sparseItems: [Int] = []
    @usableFromInline var depth = 0
    @usableFromInline var pairs: PairCache
    /// The keys of the JSON objects being walked (see `JSONWalk.swift`), reused across encodes.
    var jsonMembers: [JSONMember] = []

    public init(space: VectorSpace, pairCacheSlots: Int = 4096) {
        self.space = space
        self.scalars = space.scalarEncoder
        self.pairs = PairCache(slots: pairCacheSlots)
        items.reserveCapacity(64)
        jsonMembers.reserveCapacity(64)
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
        let start = beginRecord()
        value.walk(into: &self)
        endRecord(start, into: &out)
    }

    // MARK: WalkVisitor

    public mutating func visit(_ field: FieldName, _ value: Int) { addPair(field, .int(value)) }
    public mutating func visit(_ field: FieldName, _ value: String) { addPair(field, .string(value)) }
    public mutating func visit(_ field: FieldName, _ value: Bool) { addPair(field, .bool(value)) }
    public mutating func visit(_ field: FieldName, _ value: Double) { addPair(field, .double(value)) }

    public mutating func visit(_ field: FieldName, scalar value: Double, _ encoding: ScalarEncoding) {
        addScalar(role: field.key, value, encoding)
    }

    public mutating func visit<W: Walkable>(_ field: FieldName, record: W) {
        let inner = encode(record)
        appendBound(role: field.key, inner)
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
        addPair(role: field.key, value)
    }

    // The visits by atom key rather than by name. They are the whole encoding: the `WalkVisitor`
    // methods above and the JSON walker (which hashes names without making strings) both call
    // them, which is what makes a Walkable and its JSON give the same vector.

    /// Adds `role ⊗ atom(value)`.
    @inlinable
    mutating func addPair(role: AtomKey, _ value: AtomKey) {
        let key = AtomKey.pair(role, value)
        if let p = pairs.planes(key) {
            items.append(p)
            return
        }
        cache(key, Hypervector.bind(space.atom(role), space.atom(value)))
    }

    /// Adds `role ⊗ scalar(value)`.
    mutating func addScalar(role: AtomKey, _ value: Double, _ encoding: ScalarEncoding) {
        let level = scalars.level(of: value, encoding)
        let key = AtomKey.pair(role, Self.scalarKey(level: level, encoding))
        if let p = pairs.planes(key) { items.append(p); return }
        var v = Hypervector(dimension: dimension)
        scalars.encode(level: level, into: &v)
        v.formBind(space.atom(role))
        cache(key, v)
    }

    /// Adds `role ⊗ filler` for a filler that may have zero lanes (a nested record or a
    /// collection).
    mutating func appendBound(role: AtomKey, _ filler: Hypervector) {
        append(Hypervector.bind(space.atom(role), filler))
    }

    /// Adds `role ⊗ bundle(members)` (the zero vector for no members).
    mutating func appendCollection(role: AtomKey, _ members: [Hypervector]) {
        let filler = members.isEmpty ? Hypervector(dimension: dimension) : Hypervector.bundle(members)
        appendBound(role: role, filler)
    }

    /// Opens a record: its pairs are the items added from the returned mark on.
    mutating func beginRecord() -> Int {
        depth += 1
        return items.count
    }

    /// Closes the record opened at `mark`, bundling its items into `out`.
    mutating func endRecord(_ mark: Int, into out: inout Hypervector) {
        bundleItems(from: mark, into: &out)
        depth -= 1
        if depth == 0 && !keepAlive.isEmpty { keepAlive.removeAll(keepingCapacity: true) }
    }

    /// Drops everything added since `mark` at nesting `depth` (after a failed encode), so the
    /// encoder is as it was before.
    mutating func abandon(to mark: Int, depth savedDepth: Int) {
        items.removeSubrange(mark...)
        while let last = sparseItems.last, last >= mark { sparseItems.removeLast() }
        depth = savedDepth
        if depth == 0 && !keepAlive.isEmpty { keepAlive.removeAll(keepingCapacity: true) }
    }

    /// Removes the item at `index` (a JSON key given twice: the last value wins).
    mutating func removeItem(at index: Int) {
        items.remove(at: index)
        if let s = sparseItems.firstIndex(of: index) { sparseItems.remove(at: s) }
        for s in sparseItems.indices where sparseItems[s] > index { sparseItems[s] -= 1 }
    }

    var itemCount: Int { items.count }

    /// Caches a new pair and appends it; a vector the cache evicts stays alive until the
    /// outermost encode returns, since `items` may point into it.
    @usableFromInline
    mutating func cache(_ key: AtomKey, _ v: Hypervector) {
        if let evicted = pairs.insert(key, v) { keepAlive.append(evicted) }
        items.append(UnsafePointer(v.storage.words))
    }

    mutating func append(_ v: Hypervector) {
        keepAlive.append(v)
        sparseItems.append(items.count)
        items.append(UnsafePointer(v.storage.words))
    }

    mutating func appendCollection(_ field: FieldName, _ members: [Hypervector]) {
        appendCollection(role: field.key, members)
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
        let dense = (sparseItems.last ?? -1) < start
        items.withUnsafeBufferPointer { p in
            p.baseAddress!.advanced(by: start).withMemoryRebound(to: UnsafePointer<UInt64>?.self, capacity: n) {
                if dense {
                    holon_bundle_dense($0, n, w, out.storage.words)
                } else {
                    holon_bundle($0, n, w, out.storage.words)
                }
            }
        }
        items.removeSubrange(start...)
        while let last = sparseItems.last, last >= start { sparseItems.removeLast() }
    }
}

/// A fixed-size map from pair keys to bound vectors, owned by one encoder: open addressing with a
/// short linear probe; when the probe window is full the home slot is overwritten, so the cache
/// never grows and never rehashes. Storage is a class with copy-on-write, and lookups hand out
/// plane pointers without touching reference counts.
@usableFromInline
struct PairCache {
    /// A key and the planes of its vector side by side, so a probe touches one cache line (in
    /// separate arrays a hit cost two misses: 8 % of `holon bench detect`).
    @usableFromInline struct Entry {
        @usableFromInline var key: UInt64 = 0
        @usableFromInline var planes: UnsafePointer<UInt64>? = nil
    }

    @usableFromInline final class Storage {
        @usableFromInline let mask: Int
        @usableFromInline let entries: UnsafeMutablePointer<Entry>
        /// The vectors the entries' planes point into, kept alive here.
        @usableFromInline let values: UnsafeMutablePointer<Hypervector?>

        init(slots: Int) {
            mask = slots - 1
            entries = .allocate(capacity: slots)
            entries.initialize(repeating: Entry(), count: slots)
            values = .allocate(capacity: slots)
            values.initialize(repeating: nil, count: slots)
        }

        func copy() -> Storage {
            let c = Storage(slots: mask + 1)
            c.entries.update(from: entries, count: mask + 1)
            c.values.update(from: values, count: mask + 1)
            return c
        }

        deinit {
            values.deinitialize(count: mask + 1)
            values.deallocate()
            entries.deallocate()
        }
    }

    @usableFromInline var storage: Storage
    @usableFromInline static let probe = 4

    init(slots: Int) {
        var n = 16
        while n < slots { n <<= 1 }
        storage = Storage(slots: n)
    }

    /// 0 marks an empty slot; a key of 0 is stored as 1 (a 2^-64 coincidence, like any key clash).
    @inlinable @inline(__always)
    static func slotKey(_ key: AtomKey) -> UInt64 { key.rawValue == 0 ? 1 : key.rawValue }

    /// The planes of the cached pair, valid while the cache holds it.
    @inlinable
    func planes(_ key: AtomKey) -> UnsafePointer<UInt64>? {
        let s = storage
        let k = Self.slotKey(key)
        var i = Int(truncatingIfNeeded: k) & s.mask
        for _ in 0..<Self.probe {
            let e = s.entries[i]
            if e.key == k { return e.planes }
            if e.key == 0 { return nil }
            i = (i + 1) & s.mask
        }
        return nil
    }

    @inlinable
    subscript(key: AtomKey) -> Hypervector? {
        let s = storage
        let k = Self.slotKey(key)
        var i = Int(truncatingIfNeeded: k) & s.mask
        for _ in 0..<Self.probe {
            if s.entries[i].key == k { return s.values[i] }
            if s.entries[i].key == 0 { return nil }
            i = (i + 1) & s.mask
        }
        return nil
    }

    /// Stores `v` under `key`; returns the vector it displaced, if any.
    @usableFromInline
    mutating func insert(_ key: AtomKey, _ v: Hypervector) -> Hypervector? {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        let s = storage
        let k = Self.slotKey(key)
        let home = Int(truncatingIfNeeded: k) & s.mask
        var i = home
        for _ in 0..<Self.probe {
            if s.entries[i].key == 0 || s.entries[i].key == k { break }
            i = (i + 1) & s.mask
        }
        if s.entries[i].key != 0 && s.entries[i].key != k { i = home }
        let old = s.values[i]
        s.entries[i] = Entry(key: k, planes: UnsafePointer(v.storage.words))
        s.values[i] = v
        return old
    }
}
