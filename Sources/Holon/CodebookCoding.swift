/// Export and import of a codebook (prototypes, attack names) as `{"dimension", "names",
/// "vectors"}`, so a learned set can be saved, shipped to another host and loaded. Atoms are
/// reproducible from the seed anyway; what needs saving is learned vectors (bundles,
/// prototypes), which no seed reproduces. Decoding re-checks the invariants: equal counts,
/// unique names, one dimension.
extension Codebook: Codable {
    enum CodingKeys: String, CodingKey { case dimension, names, vectors }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(names, forKey: .names)
        try c.encode(vectors, forKey: .vectors)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let dimension = try c.decode(Int.self, forKey: .dimension)
        let names = try c.decode([String].self, forKey: .names)
        let vectors = try c.decode([Hypervector].self, forKey: .vectors)
        guard names.count == vectors.count else {
            throw DecodingError.dataCorruptedError(forKey: .vectors, in: c, debugDescription: "\(names.count) names but \(vectors.count) vectors")
        }
        guard Set(names).count == names.count else {
            throw DecodingError.dataCorruptedError(forKey: .names, in: c, debugDescription: "names repeat")
        }
        if let bad = vectors.firstIndex(where: { $0.dimension != dimension }) {
            throw DecodingError.dataCorruptedError(forKey: .vectors, in: c,
                debugDescription: "\(names[bad]) has dimension \(vectors[bad].dimension), expected \(dimension)")
        }
        self.init(dimension: dimension)
        for (n, v) in zip(names, vectors) { set(n, v) }
    }
}
