import Synchronization

/// A dimension and a seed: the space atoms live in. The same `(dimension, seed, key)` gives the
/// same atom on every machine and every run, so processes and hosts share vectors without talking.
///
/// Atom scheme (pinned by golden tests): the PRNG ``Xoshiro256`` is seeded with
/// `key.rawValue ^ fmix64(seed)`; word `i` of the sign plane is its `i`-th output (bit set = −1);
/// bits past `dimension` are cleared; the mask plane is all ones up to `dimension`.
///
/// Thread-safe: atoms are cached behind a mutex and handed out by reference (a retain, not a
/// copy). The cache is bounded; when full it is emptied, since regenerating an atom costs about
/// as much as a lookup miss.
public final class VectorSpace: Sendable {
    public let dimension: Int
    public let seed: UInt64
    public let cacheCapacity: Int
    private let cache: Mutex<[UInt64: Hypervector]>
    private let scalarEncoderSlot = Mutex<ScalarEncoder?>(nil)

    public init(dimension: Int = 4096, seed: UInt64 = 42, cacheCapacity: Int = 16_384) {
        precondition(dimension > 0, "VectorSpace dimension must be positive, got \(dimension)")
        self.dimension = dimension
        self.seed = seed
        self.cacheCapacity = max(1, cacheCapacity)
        self.cache = Mutex([:])
    }

    /// The atom for a key, from the cache or made and cached.
    public func atom(_ key: AtomKey) -> Hypervector {
        if let v = cache.withLock({ $0[key.rawValue] }) { return v }
        let v = Self.makeAtom(key: key, dimension: dimension, seed: seed)
        cache.withLock { c in
            if c.count >= cacheCapacity { c.removeAll(keepingCapacity: true) }
            c[key.rawValue] = v
        }
        return v
    }

    public func atom(_ name: String) -> Hypervector { atom(.string(name)) }
    public func atom(_ value: Int) -> Hypervector { atom(.int(value)) }

    /// `role ⊗ filler` for a field and a value key.
    public func pair(_ field: FieldName, _ value: AtomKey) -> Hypervector {
        Hypervector.bind(atom(field.key), atom(value))
    }

    /// The space's scalar encoder (built once, on first use: it keeps 64 checkpoint vectors).
    public var scalarEncoder: ScalarEncoder {
        if let e = scalarEncoderSlot.withLock({ $0 }) { return e }
        let e = ScalarEncoder(space: self)
        return scalarEncoderSlot.withLock { slot in
            if let existing = slot { return existing }
            slot = e
            return e
        }
    }

    /// Atoms currently cached.
    public var cachedAtomCount: Int { cache.withLock { $0.count } }

    /// Makes an atom without the cache: the definition of the scheme above.
    public static func makeAtom(key: AtomKey, dimension: Int, seed: UInt64) -> Hypervector {
        var v = Hypervector(dimension: dimension)
        var rng = Xoshiro256(seed: key.rawValue ^ StableHash.fmix64(seed))
        let w = v.wordCount
        let tail = dimension % 64
        v.withMutablePlanes { p in
            for i in 0..<w {
                p[i] = rng.next()
                p[w + i] = ~0
            }
            if tail != 0 {
                let keep = (UInt64(1) << UInt64(tail)) - 1
                p[w - 1] &= keep
                p[2 * w - 1] &= keep
            }
        }
        return v
    }
}
