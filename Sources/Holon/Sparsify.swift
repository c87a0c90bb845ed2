extension Hypervector {
    /// Keeps exactly `count` of the non-zero lanes (a pseudo-random choice fixed by `seed`) and
    /// zeroes the rest. The result's cosine with `self` is exactly `√(count / nnz)`: the sparse
    /// vector is a cheaper, still recognisable stand-in.
    public func sparsified(keeping count: Int, seed: UInt64 = 0) -> Hypervector {
        let lanes = (0..<dimension).filter { self[$0] != 0 }
        precondition(count >= 0 && count <= lanes.count,
                     "sparsified: cannot keep \(count) of \(lanes.count) non-zero lanes")
        var order = lanes
        var rng = Xoshiro256(seed: StableHash.fmix64(seed ^ 0x7370_6172_7365))
        // A partial Fisher–Yates: the first `count` slots are a uniform sample.
        for i in 0..<count {
            let j = i + Int(rng.next(upperBound: UInt64(order.count - i)))
            order.swapAt(i, j)
        }
        let w = wordCount
        let out = Hypervector(dimension: dimension)
        withExtendedLifetime(self) {
            for lane in order[0..<count] {
                let word = lane >> 6, bit = UInt64(1) << UInt64(lane & 63)
                out.storage.words[w + word] |= bit
                out.storage.words[word] |= storage.words[word] & bit
            }
        }
        return out
    }
}

extension Accumulator {
    /// The `count` lanes of largest magnitude, as their signs; every other lane 0. Ties in
    /// magnitude go to the lower lane index, so the result is deterministic.
    public func sparsified(keeping count: Int) -> Hypervector {
        precondition(count >= 0 && count <= dimension, "sparsified: cannot keep \(count) of \(dimension) lanes")
        // The lanes themselves: the sums are them times one positive scale (same order, same signs).
        let lanes = withLanes { l, _ in Array(l) }
        let order = lanes.indices.sorted { abs(lanes[$0]) != abs(lanes[$1]) ? abs(lanes[$0]) > abs(lanes[$1]) : $0 < $1 }
        var values = [Int8](repeating: 0, count: dimension)
        for lane in order[0..<count] { values[lane] = lanes[lane] > 0 ? 1 : lanes[lane] < 0 ? -1 : 0 }
        return Hypervector(values: values)
    }
}
