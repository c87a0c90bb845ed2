/// A value that walks its own structure into a visitor, so the encoder can turn it into a
/// hypervector without building arrays, dictionaries or strings per value.
///
/// A `Walkable` is a *record*: a set of named fields. Each field is visited once, with a
/// ``FieldName`` (made once, usually as a `static let`, so its atom key is hashed once) and a value:
/// an integer, a string, a boolean, a float, a magnitude that should be encoded by a
/// ``ScalarEncoding``, or a nested walkable. Lists and sets of walkables are visited with
/// ``WalkVisitor/visitList(_:_:)`` and ``WalkVisitor/visitSet(_:_:)``.
///
/// The JSON encoder produces *identical* vectors for the same data: an integral JSON number is an
/// `Int`, a JSON string a `String`, `true`/`false` a `Bool`, an object a nested record, an array a
/// list, and `{"$log": x}`, `{"$linear": x}`, `{"$circular": x, "period": p}` the scalar markers.
public protocol Walkable {
    /// Visits every field of the record exactly once. Visit order does not change the vector.
    func walk<V: WalkVisitor>(into visitor: inout V)
}

/// The receiving side of ``Walkable``. Generic so a concrete visitor is specialised into the
/// walking code: no existential boxes, no allocation.
public protocol WalkVisitor {
    mutating func visit(_ field: FieldName, _ value: Int)
    mutating func visit(_ field: FieldName, _ value: String)
    mutating func visit(_ field: FieldName, _ value: Bool)
    mutating func visit(_ field: FieldName, _ value: Double)
    /// A number whose magnitude matters: encoded so that near values give similar vectors.
    mutating func visit(_ field: FieldName, scalar value: Double, _ encoding: ScalarEncoding)
    mutating func visit<W: Walkable>(_ field: FieldName, record: W)
    /// An ordered list: element `i` is permuted by `i` before bundling.
    mutating func visitList<W: Walkable>(_ field: FieldName, _ items: some Collection<W>)
    /// An unordered set: elements are bundled as they are.
    mutating func visitSet<W: Walkable>(_ field: FieldName, _ items: some Collection<W>)
    /// An ordered list of plain values.
    mutating func visitList(_ field: FieldName, scalars items: some Collection<ScalarValue>)
    /// An unordered set of plain values.
    mutating func visitSet(_ field: FieldName, scalars items: some Collection<ScalarValue>)
}

/// A plain value in a list or set. Its atom is the one the same value has as a field filler.
public enum ScalarValue: Hashable, Sendable {
    case int(Int)
    case string(String)
    case bool(Bool)
    case double(Double)

    public var key: AtomKey {
        switch self {
        case .int(let v): return .int(v)
        case .string(let v): return .string(v)
        case .bool(let v): return .bool(v)
        case .double(let v): return .double(v)
        }
    }
}

/// How a magnitude is laid on the hypervector: similarity falls off smoothly with distance.
public enum ScalarEncoding: Hashable, Sendable {
    /// Linear over `lower...upper`; values outside are clamped.
    case linear(lower: Double, upper: Double)
    /// Log10 over `lower...upper` (both > 0); values outside are clamped.
    case log(lower: Double, upper: Double)
    /// Circular with the given period (angles, time of day): `x` and `x + period` are the same.
    case circular(period: Double)

    /// Log scale over 0.1 … 1e9, the span of packet and byte rates Holon meets.
    public static let log = ScalarEncoding.log(lower: 0.1, upper: 1e9)
    /// Linear over 0 … 1.
    public static let unit = ScalarEncoding.linear(lower: 0, upper: 1)
}

/// A field name with its atom key hashed once. Make these `static let` so the hot path never
/// hashes a string.
public struct FieldName: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    /// ``AtomKey/string(_:)`` of `name`: the same key the JSON encoder computes for the same key.
    public let key: AtomKey

    public init(_ name: String) {
        self.name = name
        self.key = AtomKey.string(name)
    }

    public var description: String { name }
}
