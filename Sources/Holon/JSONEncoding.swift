import Foundation

/// JSON data as a ``Walkable`` record, so JSON goes through exactly the visitor calls a Swift type
/// would make — which is why the two give identical vectors.
///
/// Mapping: an object is a record; a JSON integer (or integral number) an `Int`; any other number
/// a `Double`; a string a `String`; `true`/`false` a `Bool`; `null` an absent field; an array of
/// objects a list of records, an array of plain values a list of ``ScalarValue``s. Objects with a
/// marker key are scalars encoded by magnitude:
/// `{"$log": x}` (optional `"lower"`, `"upper"`; default 0.1…1e9), `{"$linear": x, "lower": a,
/// "upper": b}`, `{"$circular": x, "period": p}`. An object with the single key `"$set"` holding an
/// array is a set (unordered) rather than a list.
public struct JSONRecord: Walkable, Sendable {
    indirect enum Node: Sendable {
        case int(Int), double(Double), string(String), bool(Bool)
        case scalar(Double, ScalarEncoding)
        case record(JSONRecord)
        case records([JSONRecord], ordered: Bool)
        case scalars([ScalarValue], ordered: Bool)
    }

    let fields: [(FieldName, Node)]

    /// Parses JSON text whose top level is an object.
    public init(data: Data) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw JSONEncodingError.invalidJSON(String(describing: error))
        }
        try self.init(object: object)
    }

    /// Wraps a `JSONSerialization` value whose top level is a dictionary.
    public init(object: Any) throws {
        try self.init(object: object, path: "$")
    }

    /// Encodes a `Codable` value through `JSONEncoder` and wraps the result.
    public init<T: Encodable>(codable value: T) throws {
        try self.init(data: try JSONEncoder().encode(value))
    }

    init(object: Any, path: String) throws {
        guard let dict = object as? [String: Any] else {
            throw JSONEncodingError.notAnObject(path: path)
        }
        var fields: [(FieldName, Node)] = []
        for (key, value) in dict.sorted(by: { $0.key < $1.key }) {
            if let node = try Self.node(value, path: path + "." + key) {
                fields.append((FieldName(key), node))
            }
        }
        self.fields = fields
    }

    static func node(_ value: Any, path: String) throws -> Node? {
        switch value {
        case is NSNull:
            return nil
        case let s as String:
            return .string(s)
        case let n as NSNumber:
            if isBoolean(n) { return .bool(n.boolValue) }
            let d = n.doubleValue
            if let i = Int(exactly: d), d.rounded() == d { return .int(i) }
            if String(cString: n.objCType) == "q" || String(cString: n.objCType) == "Q" { return .int(n.intValue) }
            return .double(d)
        case let dict as [String: Any]:
            if let marker = try scalarMarker(dict, path: path) { return marker }
            if dict.count == 1, let members = dict["$set"] as? [Any] {
                return try collection(members, ordered: false, path: path + ".$set")
            }
            return .record(try JSONRecord(object: dict, path: path))
        case let array as [Any]:
            return try collection(array, ordered: true, path: path)
        default:
            throw JSONEncodingError.unsupported(path: path, what: "value of type \(type(of: value))")
        }
    }

    static func isBoolean(_ n: NSNumber) -> Bool {
        let code = String(cString: n.objCType)
        return code == "c" || code == "B"
    }

    static func collection(_ array: [Any], ordered: Bool, path: String) throws -> Node {
        if array.allSatisfy({ $0 is [String: Any] }) && !array.isEmpty {
            let records = try array.enumerated().map { try JSONRecord(object: $1, path: "\(path)[\($0)]") }
            return .records(records, ordered: ordered)
        }
        var scalars: [ScalarValue] = []
        for (i, element) in array.enumerated() {
            switch try node(element, path: "\(path)[\(i)]") {
            case .int(let v)?: scalars.append(.int(v))
            case .double(let v)?: scalars.append(.double(v))
            case .string(let v)?: scalars.append(.string(v))
            case .bool(let v)?: scalars.append(.bool(v))
            default:
                throw JSONEncodingError.unsupported(
                    path: "\(path)[\(i)]",
                    what: "mixed or nested array (a list holds either objects or plain values)")
            }
        }
        return .scalars(scalars, ordered: ordered)
    }

    static func number(_ dict: [String: Any], _ key: String, path: String) throws -> Double? {
        guard let v = dict[key] else { return nil }
        guard let n = v as? NSNumber, !isBoolean(n) else {
            throw JSONEncodingError.unsupported(path: path + "." + key, what: "\(key) must be a number")
        }
        return n.doubleValue
    }

    static func scalarMarker(_ dict: [String: Any], path: String) throws -> Node? {
        if let x = try number(dict, "$log", path: path) {
            let lo = try number(dict, "lower", path: path) ?? 0.1
            let hi = try number(dict, "upper", path: path) ?? 1e9
            guard lo > 0, hi > lo else {
                throw JSONEncodingError.unsupported(path: path, what: "$log needs 0 < lower < upper")
            }
            return .scalar(x, .log(lower: lo, upper: hi))
        }
        if let x = try number(dict, "$linear", path: path) {
            guard let lo = try number(dict, "lower", path: path), let hi = try number(dict, "upper", path: path), hi > lo else {
                throw JSONEncodingError.unsupported(path: path, what: "$linear needs numeric lower < upper")
            }
            return .scalar(x, .linear(lower: lo, upper: hi))
        }
        if let x = try number(dict, "$circular", path: path) {
            guard let p = try number(dict, "period", path: path), p > 0 else {
                throw JSONEncodingError.unsupported(path: path, what: "$circular needs a positive period")
            }
            return .scalar(x, .circular(period: p))
        }
        return nil
    }

    public func walk<V: WalkVisitor>(into visitor: inout V) {
        for (field, node) in fields {
            switch node {
            case .int(let v): visitor.visit(field, v)
            case .double(let v): visitor.visit(field, v)
            case .string(let v): visitor.visit(field, v)
            case .bool(let v): visitor.visit(field, v)
            case .scalar(let v, let e): visitor.visit(field, scalar: v, e)
            case .record(let r): visitor.visit(field, record: r)
            case .records(let rs, true): visitor.visitList(field, rs)
            case .records(let rs, false): visitor.visitSet(field, rs)
            case .scalars(let ss, true): visitor.visitList(field, scalars: ss)
            case .scalars(let ss, false): visitor.visitSet(field, scalars: ss)
            }
        }
    }
}

/// What was wrong with JSON given to the encoder, and where (a JSONPath-like location).
public enum JSONEncodingError: Error, CustomStringConvertible, Equatable {
    /// Foundation's parser rejected the text (``JSONRecord/init(data:)``).
    case invalidJSON(String)
    /// The text is not JSON: what is wrong, and the byte offset where it was found (the
    /// one-pass encoder, ``VectorEncoder/encode(json:)-(Data)``).
    case syntax(offset: Int, reason: String)
    case notAnObject(path: String)
    case unsupported(path: String, what: String)

    public var description: String {
        switch self {
        case .invalidJSON(let why): return "invalid JSON: \(why)"
        case .syntax(let offset, let reason): return "invalid JSON at byte \(offset): \(reason)"
        case .notAnObject(let path): return "\(path): expected a JSON object (a record)"
        case .unsupported(let path, let what): return "\(path): unsupported \(what)"
        }
    }
}

extension VectorEncoder {
    /// The vector of a JSON object (UTF-8): identical to the vector of a ``Walkable`` with the
    /// same data. Parses and encodes in one pass over the bytes (see `JSONWalk.swift`); throws
    /// ``JSONEncodingError``.
    public mutating func encode(json data: Data) throws -> Hypervector {
        var out = Hypervector(dimension: dimension)
        try encode(json: data, into: &out)
        return out
    }

    /// Writes the vector of a JSON object into `out`; allocates nothing for a flat record whose
    /// field values have been seen before. `out` is unchanged when it throws.
    public mutating func encode(json data: Data, into out: inout Hypervector) throws {
        try data.withUnsafeBytes { try encodeJSON($0, into: &out) }
    }

    /// The vector of a JSON object given as text.
    public mutating func encode(json text: String) throws -> Hypervector {
        var text = text
        var out = Hypervector(dimension: dimension)
        try text.withUTF8 { try encodeJSON(UnsafeRawBufferPointer($0), into: &out) }
        return out
    }

    /// Writes the vector of the JSON object in `bytes` (UTF-8) into `out`.
    public mutating func encode(jsonBytes bytes: UnsafeRawBufferPointer, into out: inout Hypervector) throws {
        try encodeJSON(bytes, into: &out)
    }

    /// The vector of a `JSONSerialization` dictionary.
    public mutating func encode(jsonObject: Any) throws -> Hypervector {
        encode(try JSONRecord(object: jsonObject))
    }
}
