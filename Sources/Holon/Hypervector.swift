import CHolonKernels

/// A ternary hypervector (values −1, 0, +1) of any dimension, stored as two bit planes.
///
/// Layout: `2 * wordCount` 64-bit words, the *sign* plane (bit set = −1) then the *mask* plane
/// (bit set = non-zero). Invariants, kept by every operation:
/// - `sign & ~mask == 0`: a zero lane has a clear sign bit;
/// - bits at positions `>= dimension` are zero in both planes, so dimensions that are not a
///   multiple of 64 need no special case in the kernels.
///
/// Atoms are dense bipolar (mask all ones), so binding them is exact and self-inverse
/// (`a ⊙ a = 1`). Bundles are ternary: a lane whose sum is zero is 0 (no random tie-break), so
/// bundling is deterministic and order-independent.
///
/// Storage is a reference with copy-on-write: handing a cached atom out retains it, it never
/// copies the 1 KB (at d = 4096) of planes.
public struct Hypervector: @unchecked Sendable {
    /// Number of lanes.
    public let dimension: Int
    @usableFromInline var storage: HypervectorStorage

    /// Words per plane.
    @inlinable public var wordCount: Int { storage.wordCount }

    /// The zero vector (every lane 0).
    public init(dimension: Int) {
        precondition(dimension > 0, "Hypervector dimension must be positive, got \(dimension)")
        self.dimension = dimension
        self.storage = HypervectorStorage(wordCount: (dimension + 63) / 64)
    }

    /// Builds a vector from lane values; every value must be −1, 0 or +1.
    public init<C: Collection>(values: C) where C.Element: BinaryInteger {
        self.init(dimension: values.count)
        let w = wordCount
        let p = storage.words
        for (i, v) in values.enumerated() {
            precondition(v >= -1 && v <= 1, "lane \(i) has value \(v); hypervector lanes are -1, 0 or +1")
            if v != 0 { p[w + i / 64] |= 1 << UInt64(i % 64) }
            if v < 0 { p[i / 64] |= 1 << UInt64(i % 64) }
        }
    }

    /// A vector whose planes the caller's kernel overwrites entirely (see
    /// `HypervectorStorage.init(unfilledWordCount:)`).
    @usableFromInline init(unfilledDimension dimension: Int) {
        precondition(dimension > 0, "Hypervector dimension must be positive, got \(dimension)")
        self.dimension = dimension
        self.storage = HypervectorStorage(unfilledWordCount: (dimension + 63) / 64)
    }

    @inlinable init(dimension: Int, storage: HypervectorStorage) {
        self.dimension = dimension
        self.storage = storage
    }

    /// Lane `i` as −1, 0 or +1.
    @inlinable public subscript(i: Int) -> Int8 {
        precondition(i >= 0 && i < dimension, "lane \(i) out of range 0..<\(dimension)")
        let w = storage.wordCount
        let bit = UInt64(1) << UInt64(i & 63)
        if storage.words[w + i >> 6] & bit == 0 { return 0 }
        return storage.words[i >> 6] & bit == 0 ? 1 : -1
    }

    /// All lanes, for inspection and tests (allocates).
    public var values: [Int8] { (0..<dimension).map { self[$0] } }

    /// Number of non-zero lanes.
    public var nonZeroCount: Int {
        Int(holon_popcount(storage.words + storage.wordCount, storage.wordCount))
    }

    /// True when every lane is ±1 (atoms and bindings of atoms).
    public var isBipolar: Bool { nonZeroCount == dimension }

    /// Read access to both planes (`2 * wordCount` words: sign, then mask).
    @inlinable
    public func withPlanes<R>(_ body: (UnsafePointer<UInt64>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafePointer(storage.words)) }
    }

    /// Write access to both planes. The caller must keep the invariants above.
    @inlinable
    public mutating func withMutablePlanes<R>(_ body: (UnsafeMutablePointer<UInt64>) throws -> R) rethrows -> R {
        makeUnique()
        return try withExtendedLifetime(storage) { try body(storage.words) }
    }

    @inlinable mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }
}

extension Hypervector: Equatable {
    public static func == (a: Hypervector, b: Hypervector) -> Bool {
        guard a.dimension == b.dimension else { return false }
        if a.storage === b.storage { return true }
        for i in 0..<(2 * a.wordCount) where a.storage.words[i] != b.storage.words[i] { return false }
        return true
    }
}

extension Hypervector: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(dimension)
        for i in 0..<(2 * wordCount) { hasher.combine(storage.words[i]) }
    }
}

extension Hypervector: CustomStringConvertible {
    public var description: String {
        let head = (0..<Swift.min(dimension, 16)).map { ["-", "0", "+"][Int(self[$0]) + 1] }.joined()
        return "Hypervector(d=\(dimension), nnz=\(nonZeroCount), \(head)\(dimension > 16 ? "…" : ""))"
    }
}

/// The planes of one hypervector. Its pointer is stable for the object's lifetime, so kernels
/// may take it without copying.
@usableFromInline
final class HypervectorStorage: @unchecked Sendable {
    @usableFromInline let wordCount: Int
    @usableFromInline let words: UnsafeMutablePointer<UInt64>
    /// What was allocated: `words` is the first 64-byte boundary inside it.
    let allocation: UnsafeMutableRawPointer

    @usableFromInline convenience init(wordCount: Int) {
        self.init(unfilledWordCount: wordCount)
        words.initialize(repeating: 0, count: 2 * wordCount)
    }

    /// Planes with unspecified contents, for a kernel that writes every word before anything
    /// reads one (bind, rotation, copy): zeroing 1 KB first would be wasted.
    @usableFromInline init(unfilledWordCount wordCount: Int) {
        self.wordCount = wordCount
        // Cache-line aligned: the kernels load 64 bytes at a time, and at malloc's 16-byte
        // alignment every such load would straddle two cache lines. Aligned by hand inside a
        // plain allocation 48 bytes larger, because asking the allocator for 64-byte alignment
        // (posix_memalign) made every allocating operation ~45 ns slower.
        allocation = UnsafeMutableRawPointer.allocate(byteCount: 2 * wordCount * 8 + 48, alignment: 16)
        let skip = (64 - Int(bitPattern: allocation) & 63) & 63
        words = (allocation + skip).bindMemory(to: UInt64.self, capacity: 2 * wordCount)
    }

    @usableFromInline func copy() -> HypervectorStorage {
        let c = HypervectorStorage(unfilledWordCount: wordCount)
        c.words.update(from: words, count: 2 * wordCount)
        return c
    }

    deinit { allocation.deallocate() }
}
