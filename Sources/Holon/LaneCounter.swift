import CHolonKernels

/// Counts up to ``capacity`` ternary vectors per lane in bit-sliced form, then flushes the counts
/// into an ``Accumulator`` in one pass. Adding a vector touches a few words per plane instead of
/// 4096 floats, so a stream of packet vectors accumulates about five times faster.
///
/// Invariant: `count <= capacity`; the planes hold, per lane, the number of +1s and of −1s among
/// the vectors added since the last flush.
public struct LaneCounter: Sendable {
    public let dimension: Int
    public static let capacity = (1 << Int(HOLON_COUNTER_PLANES)) - 1
    private var planes: [UInt64]
    public private(set) var count = 0

    public init(dimension: Int) {
        self.dimension = dimension
        planes = [UInt64](repeating: 0, count: 2 * Int(HOLON_COUNTER_PLANES) * ((dimension + 63) / 64))
    }

    public var isFull: Bool { count == Self.capacity }

    /// Adds `v`; the caller must ``flush(into:weight:)`` when ``isFull``.
    public mutating func add(_ v: Hypervector) {
        precondition(v.dimension == dimension, "LaneCounter.add: dimension \(v.dimension), expected \(dimension)")
        precondition(count < Self.capacity, "LaneCounter is full: flush it into an Accumulator first")
        planes.withUnsafeMutableBufferPointer { p in
            v.withPlanes { holon_counter_add(p.baseAddress!, $0, v.wordCount) }
        }
        count += 1
    }

    /// Adds the counted vectors, each with `weight`, to `acc` and empties the counter.
    public mutating func flush(into acc: inout Accumulator, weight: Double = 1) {
        precondition(acc.dimension == dimension, "LaneCounter.flush: accumulator dimension \(acc.dimension), expected \(dimension)")
        guard count > 0 else { return }
        let d = dimension, w = (dimension + 63) / 64
        planes.withUnsafeMutableBufferPointer { p in
            acc.withMutableLanes(adding: weight, times: Double(count)) { holon_counter_flush(p.baseAddress!, w, d, $0, $1) }
        }
        acc.recordAdded(count: count, weight: weight * Double(count))
        count = 0
    }

    /// Adds the counted vectors, each with `weight`, to both `acc` and `other` in one pass over
    /// the counter, and empties it: for two accumulators that are fed the same vectors (the
    /// detector's recent window and the epoch it may learn), so each vector is counted once.
    public mutating func flush(into acc: inout Accumulator, and other: inout Accumulator, weight: Double = 1) {
        precondition(acc.dimension == dimension && other.dimension == dimension,
                     "LaneCounter.flush: accumulator dimensions \(acc.dimension) and \(other.dimension), expected \(dimension)")
        guard count > 0 else { return }
        let d = dimension, w = (dimension + 63) / 64
        planes.withUnsafeMutableBufferPointer { p in
            acc.withMutableLanes(adding: weight, times: Double(count)) { a, fa in
                other.withMutableLanes(adding: weight, times: Double(count)) { b, fb in holon_counter_flush2(p.baseAddress!, w, d, a, fa, b, fb) }
            }
        }
        acc.recordAdded(count: count, weight: weight * Double(count))
        other.recordAdded(count: count, weight: weight * Double(count))
        count = 0
    }
}
