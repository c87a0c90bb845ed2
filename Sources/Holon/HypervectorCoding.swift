/// A hypervector as `{"dimension": d, "sign": [words], "mask": [words]}`: the two bit planes as
/// 64-bit words, lane `i` at bit `i % 64` of word `i / 64`. Decoding checks the invariants every
/// operation relies on (a zero lane has a clear sign bit, nothing set past the dimension), so a
/// corrupted or hand-edited file fails at load instead of skewing similarities later.
extension Hypervector: Codable {
    enum CodingKeys: String, CodingKey { case dimension, sign, mask }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dimension, forKey: .dimension)
        let w = wordCount
        try withPlanes { p in
            try c.encode(Array(UnsafeBufferPointer(start: p, count: w)), forKey: .sign)
            try c.encode(Array(UnsafeBufferPointer(start: p + w, count: w)), forKey: .mask)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = try c.decode(Int.self, forKey: .dimension)
        guard d > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .dimension, in: c, debugDescription: "dimension \(d) must be positive")
        }
        let sign = try c.decode([UInt64].self, forKey: .sign), mask = try c.decode([UInt64].self, forKey: .mask)
        let w = (d + 63) / 64
        guard sign.count == w, mask.count == w else {
            throw DecodingError.dataCorruptedError(forKey: .sign, in: c,
                debugDescription: "dimension \(d) needs \(w) words per plane, found \(sign.count) sign and \(mask.count) mask")
        }
        let tail = d % 64 == 0 ? UInt64.max : (UInt64(1) << UInt64(d % 64)) - 1
        for i in 0..<w {
            guard sign[i] & ~mask[i] == 0 else {
                throw DecodingError.dataCorruptedError(forKey: .sign, in: c, debugDescription: "word \(i): sign bits set on zero lanes")
            }
            guard i < w - 1 || mask[i] & ~tail == 0 else {
                throw DecodingError.dataCorruptedError(forKey: .mask, in: c, debugDescription: "bits set past dimension \(d)")
            }
        }
        self.init(dimension: d)
        withMutablePlanes { p in
            for i in 0..<w {
                p[i] = sign[i]
                p[w + i] = mask[i]
            }
        }
    }
}
