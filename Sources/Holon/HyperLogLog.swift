/// A HyperLogLog sketch: estimates how many *distinct* items were inserted, in `2^p` bytes,
/// whatever the number of items.
///
/// Layout: `m = 2^p` one-byte registers and 64-bit hashes. The top `p` bits of a hash pick a
/// register; the remaining `q = 64 − p` bits give a rank, the number of leading zeros plus one
/// (`1 ... q + 1`; all `q` bits zero gives `q + 1`).
///
/// Invariant: `registers.count == 2^precision`, `4 <= precision <= 18`, and every register holds
/// the largest rank of the hashes that fell into it (`0` if none did), so `0 <= r <= 65 − p`. The
/// sketch therefore depends only on the *set* of inserted hashes, not on their order or
/// multiplicity: inserting an item twice changes nothing, and ``merge(_:)`` (the register-wise
/// maximum) of two sketches is exactly the sketch of the union of their inputs.
///
/// The estimate is Otmar Ertl's improved estimator ("New cardinality estimation algorithms for
/// HyperLogLog sketches", 2017, arXiv:1702.01284): it uses the histogram of register values, corrects
/// for empty registers with a `σ` series and for saturated registers with a `τ` series, and is
/// essentially unbiased from 0 up to far beyond 10^18 items with no empirical bias tables or
/// thresholds (classic HyperLogLog switches to linear counting and is biased around `2.5 m … 5 m`).
/// Its relative standard error is about `1.04 / √m` (``relativeStandardError``): 1.6 % at `p = 12`,
/// 0.81 % at the default `p = 14` (16 KiB), 0.41 % at `p = 16`; at small cardinalities it is
/// smaller still.
///
/// Hashing is stable (``StableHash``), so sketches made on different machines or runs agree
/// and can be merged. Insert IPv4 addresses as integers (`insert(UInt64(address))`), so the same
/// address counted from a `UInt32` field or an `Int` lands on the same hash.
public struct HyperLogLog: Sendable, Hashable, Codable {
    /// The smallest supported precision.
    public static let minPrecision = 4
    /// The largest supported precision.
    public static let maxPrecision = 18
    /// The default precision: 16384 registers, 16 KiB, about 0.81 % relative standard error.
    public static let defaultPrecision = 14

    /// `p`: the sketch has `2^p` registers.
    public let precision: Int
    /// The `2^p` registers (see the invariant in the type's documentation).
    @inlinable public var registers: [UInt8] { storage }
    /// The registers; internal so that only this type's methods keep the invariant.
    @usableFromInline var storage: [UInt8]

    /// An empty sketch with `2^p` registers, `p` in `4...18`.
    /// - Throws: ``HyperLogLogError/precisionOutOfRange(_:)`` for any other `p`.
    public init(precision p: Int) throws(HyperLogLogError) {
        guard (Self.minPrecision...Self.maxPrecision).contains(p) else {
            throw .precisionOutOfRange(p)
        }
        precision = p
        storage = [UInt8](repeating: 0, count: 1 << p)
    }

    /// An empty sketch at the default precision, 14 (16384 registers).
    public init() {
        precision = Self.defaultPrecision
        storage = [UInt8](repeating: 0, count: 1 << Self.defaultPrecision)
    }

    /// The number of registers, `m = 2^p`.
    @inlinable public var registerCount: Int { registers.count }

    /// The expected relative standard error of ``estimate``, `1.04 / √m`.
    public var relativeStandardError: Double { 1.04 / Double(registers.count).squareRoot() }

    // MARK: Inserting

    /// Inserts an item given as a uniformly distributed 64-bit hash. The hot path: no allocation,
    /// no branch beyond the register update. The caller is responsible for the hash being good
    /// (use ``StableHash/hash(_:)`` or ``StableHash/fmix64(_:)``), not just distinct.
    @inlinable
    public mutating func insert(hash: UInt64) {
        let p = UInt64(truncatingIfNeeded: precision)
        let index = Int(truncatingIfNeeded: hash &>> (64 &- p))
        // The low p bits of `w` are zero; setting bit p − 1 caps the leading-zero count at q = 64 − p,
        // so the rank is in 1 ... q + 1 with no branch.
        let w = (hash &<< p) | (1 &<< (p &- 1))
        let rank = UInt8(truncatingIfNeeded: w.leadingZeroBitCount &+ 1)
        if storage[index] < rank { storage[index] = rank }
    }

    /// Inserts an unsigned integer (for example an IPv4 address as its 32-bit value), hashed by
    /// ``StableHash/hash(_:)``.
    @inlinable
    public mutating func insert(_ value: UInt64) {
        insert(hash: StableHash.hash(value))
    }

    /// Inserts an integer: the same item as the `UInt64` with the same bit pattern, so `5` and
    /// `UInt64(5)` count once.
    @inlinable
    public mutating func insert(_ value: Int) {
        insert(hash: StableHash.hash(UInt64(bitPattern: Int64(value))))
    }

    /// Inserts a string, hashed over its UTF-8 bytes: the same item as ``insert(bytes:)`` of those
    /// bytes.
    @inlinable
    public mutating func insert(_ string: String) {
        var s = string
        let h = s.withUTF8 { StableHash.fnv1a64($0) }
        insert(hash: StableHash.fmix64(h))
    }

    /// Inserts a byte string (`fmix64(fnv1a64(bytes))`).
    @inlinable
    public mutating func insert(bytes: UnsafeRawBufferPointer) {
        let h = bytes.withMemoryRebound(to: UInt8.self) { StableHash.fnv1a64($0) }
        insert(hash: StableHash.fmix64(h))
    }

    // MARK: Estimating

    /// The estimated number of distinct items inserted (Ertl's improved estimator). `0` for an
    /// empty sketch; `+∞` only if every register is saturated (astronomically many items).
    public var estimate: Double {
        let m = registers.count
        let q = 64 - precision
        // Histogram of register values: c[k] = number of registers equal to k, k in 0 ... q + 1.
        var c = [Int](repeating: 0, count: q + 2)
        c.withUnsafeMutableBufferPointer { c in
            registers.withUnsafeBufferPointer { r in
                for v in r { c[Int(v)] &+= 1 }
            }
        }
        let md = Double(m)
        // Denominator: m σ(C₀/m) + Σ_{k=1}^{q} C_k 2^{-k} + m τ(1 − C_{q+1}/m) 2^{-q},
        // the inner sums by Horner's scheme from k = q down to 1.
        var z = md * Self.tau(1 - Double(c[q + 1]) / md)
        for k in stride(from: q, through: 1, by: -1) {
            z = 0.5 * (z + Double(c[k]))
        }
        z += md * Self.sigma(Double(c[0]) / md)
        // α_∞ = 1 / (2 ln 2).
        let alphaInf = 0.721_347_520_444_481_7
        return alphaInf * md * md / z
    }

    /// ``estimate`` rounded to the nearest integer (`Int.max` if it does not fit).
    public var count: Int {
        let e = estimate.rounded()
        return e < 9.223_372_036_854_775e18 ? Int(e) : Int.max
    }

    /// σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1), for x in [0, 1]; +∞ at x = 1 (every register empty).
    static func sigma(_ x: Double) -> Double {
        if x >= 1 { return .infinity }
        var x = x
        var y = 1.0
        var z = x
        while true {
            x *= x
            let next = z + x * y
            if next == z { return z }
            z = next
            y += y
        }
    }

    /// τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3, for x in [0, 1]; 0 at both ends.
    static func tau(_ x: Double) -> Double {
        if x <= 0 || x >= 1 { return 0 }
        var x = x
        var y = 1.0
        var z = 1 - x
        while true {
            x = x.squareRoot()
            y *= 0.5
            let d = 1 - x
            let next = z - d * d * y
            if next == z { return z / 3 }
            z = next
        }
    }

    // MARK: Set operations

    /// `true` if nothing has been inserted (every register is zero).
    public var isEmpty: Bool { registers.allSatisfy { $0 == 0 } }

    /// Forgets every item, keeping the precision and the register storage.
    public mutating func reset() {
        storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Adds every item of `other` (register-wise maximum): afterwards `self` is exactly the sketch
    /// of the union of both inputs.
    /// - Throws: ``HyperLogLogError/precisionMismatch(_:_:)`` if the precisions differ; `self` is
    ///   then unchanged.
    public mutating func merge(_ other: HyperLogLog) throws(HyperLogLogError) {
        guard other.precision == precision else {
            throw .precisionMismatch(precision, other.precision)
        }
        storage.withUnsafeMutableBufferPointer { a in
            other.registers.withUnsafeBufferPointer { b in
                for i in a.indices where a[i] < b[i] { a[i] = b[i] }
            }
        }
    }

    /// The sketch of the union of the inputs of `self` and `other`.
    /// - Throws: ``HyperLogLogError/precisionMismatch(_:_:)`` if the precisions differ.
    public func merging(_ other: HyperLogLog) throws(HyperLogLogError) -> HyperLogLog {
        var result = self
        try result.merge(other)
        return result
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey {
        case precision, registers
    }

    /// Decodes `{"precision": p, "registers": [...]}`, checking the invariant.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let p = try container.decode(Int.self, forKey: .precision)
        let r = try container.decode([UInt8].self, forKey: .registers)
        guard (Self.minPrecision...Self.maxPrecision).contains(p) else {
            throw DecodingError.dataCorruptedError(
                forKey: .precision, in: container,
                debugDescription: "HyperLogLog precision \(p) is outside \(Self.minPrecision)...\(Self.maxPrecision)")
        }
        guard r.count == 1 << p, r.allSatisfy({ Int($0) <= 65 - p }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .registers, in: container,
                debugDescription: "HyperLogLog registers must be \(1 << p) values in 0...\(65 - p)")
        }
        precision = p
        storage = r
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(precision, forKey: .precision)
        try container.encode(registers, forKey: .registers)
    }
}

/// Why a ``HyperLogLog`` could not be made or merged.
public enum HyperLogLogError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The precision is outside `4...18`.
    case precisionOutOfRange(Int)
    /// Two sketches of different precisions (`self`, `other`) cannot be merged.
    case precisionMismatch(Int, Int)

    public var description: String {
        switch self {
        case .precisionOutOfRange(let p):
            return "HyperLogLog precision \(p) is outside \(HyperLogLog.minPrecision)...\(HyperLogLog.maxPrecision)"
        case .precisionMismatch(let a, let b):
            return "cannot merge HyperLogLog sketches of precision \(a) and \(b)"
        }
    }
}
