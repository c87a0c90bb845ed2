/// The one-pass JSON encoder: walks UTF-8 JSON text with a ``JSONScanner`` and makes the same
/// keyed visits (`addPair`, `addScalar`, `appendBound`, `appendCollection`) that a ``Walkable``
/// makes through ``WalkVisitor``, so the vector of a JSON record is the vector of the same data as
/// a Swift value — and the vector ``JSONRecord`` gives, since that is the mapping it implements
/// (see ``JSONRecord`` for the rules: null is an absent field, `$log`/`$linear`/`$circular`
/// markers, `{"$set": [...]}`, arrays of objects or of plain values).
///
/// Nothing is materialised: names and strings are hashed as they are unescaped, numbers converted
/// in place, and a flat record whose field values were seen before allocates nothing.
///
/// Where it differs from the Foundation path (``JSONRecord/init(data:)``), on purpose:
/// - integer literals beyond 2^53 keep their exact value (Foundation rounds them through
///   `Double`), so they give the same vector as the same `Int` in a ``Walkable``;
/// - decimals are correctly rounded, as `Double(String)` and Swift literals are (Foundation's
///   parser is off by an ulp on some 17-digit numbers, e.g. `213346.73236878176`);
/// - trailing commas (`{"a": 1,}`) are an error (RFC 8259; Foundation accepts them);
/// - when a key is repeated the last value wins, as in Foundation, but an unsupported value under
///   an overridden key is still reported;
/// - with several unsupported values in one document, the first in document order is reported
///   (Foundation's path reports the first in key order).
/// Syntax errors win over unsupported values, as in Foundation: a document is only said to hold
/// an unsupported value once it is known to be valid JSON.
extension VectorEncoder {
    /// Encodes the JSON object in `bytes` (UTF-8) into `out`.
    mutating func encodeJSON(_ bytes: UnsafeRawBufferPointer, into out: inout Hypervector) throws {
        var s = JSONScanner(bytes)
        s.skipByteOrderMark()
        let mark = itemCount, savedDepth = depth, savedMembers = jsonMembers.count
        do {
            let c = try s.peek(expecting: "a JSON object")
            guard c == UInt8(ascii: "{") else {
                try s.skipValue(depth: 0)
                try s.expectEndOfInput()
                throw JSONEncodingError.notAnObject(path: "$")
            }
            let start = beginRecord()
            try walkRecord(&s, depth: 0)
            try s.expectEndOfInput()
            endRecord(start, into: &out)
        } catch let unsupported as JSONUnsupported {
            abandon(to: mark, depth: savedDepth)
            jsonMembers.removeSubrange(savedMembers...)
            var check = JSONScanner(bytes)
            try check.validateDocument()
            throw JSONEncodingError.unsupported(path: unsupported.renderPath(in: bytes), what: unsupported.what)
        } catch {
            abandon(to: mark, depth: savedDepth)
            jsonMembers.removeSubrange(savedMembers...)
            throw error
        }
    }

    /// The members of the object at `s.pos`, added as the pairs of the record being encoded.
    /// `depth` counts the containers around the object.
    mutating func walkRecord(_ s: inout JSONScanner, depth: Int) throws {
        try s.checkDepth(depth + 1)
        s.pos += 1
        let membersStart = jsonMembers.count
        defer { jsonMembers.removeSubrange(membersStart...) }
        if try s.peek(expecting: "a key or '}'") == UInt8(ascii: "}") {
            s.pos += 1
            return
        }
        repeat {
            guard try s.peek(expecting: "a key") == UInt8(ascii: "\"") else {
                throw s.error("expected a key (a string), found \(JSONScanner.describe(s.base[s.pos]))")
            }
            let keyOffset = s.pos
            let role = try s.readStringKey()
            try s.expect(UInt8(ascii: ":"), "':' after a key")
            forgetEarlierMember(role, from: membersStart)
            let before = itemCount
            do {
                try walkField(&s, role: role, depth: depth + 1)
            } catch var e as JSONUnsupported {
                e.path.append(.key(offset: keyOffset))
                throw e
            }
            jsonMembers.append(JSONMember(key: role.rawValue, item: itemCount > before ? before : -1))
        } while try s.nextMember(close: UInt8(ascii: "}"))
    }

    /// A key given twice: the earlier value's pair leaves the record (the last value wins).
    mutating func forgetEarlierMember(_ role: AtomKey, from membersStart: Int) {
        var m = membersStart
        while m < jsonMembers.count {
            if jsonMembers[m].key == role.rawValue { break }
            m += 1
        }
        guard m < jsonMembers.count else { return }
        let old = jsonMembers[m].item
        jsonMembers.remove(at: m)
        guard old >= 0 else { return }
        removeItem(at: old)
        for i in membersStart..<jsonMembers.count where jsonMembers[i].item > old { jsonMembers[i].item -= 1 }
    }

    /// One member's value, bound to `role` and added to the record (null adds nothing).
    mutating func walkField(_ s: inout JSONScanner, role: AtomKey, depth: Int) throws {
        let c = try s.peek(expecting: "a value")
        switch c {
        case UInt8(ascii: "\""):
            addPair(role: role, try s.readStringKey())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            addPair(role: role, try s.readNumber().key)
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            switch try s.readLiteral() {
            case .true: addPair(role: role, .bool(true))
            case .false: addPair(role: role, .bool(false))
            case .null: break
            }
        case UInt8(ascii: "{"):
            switch try JSONObjectKind(classifying: s, depth: depth) {
            case .record:
                appendBound(role: role, try walkNestedRecord(&s, depth: depth))
            case .scalarMarker:
                let (x, encoding) = try readScalarMarker(&s, depth: depth)
                addScalar(role: role, x, encoding)
            case .set(let count):
                appendCollection(role: role, try walkSetObject(&s, count: count, depth: depth))
            }
        case UInt8(ascii: "["):
            appendCollection(role: role, try walkArray(&s, ordered: true, depth: depth))
        default:
            throw s.error("expected a value, found \(JSONScanner.describe(c))")
        }
    }

    /// The vector of the object at `s.pos`, encoded as a record (no marker rules).
    mutating func walkNestedRecord(_ s: inout JSONScanner, depth: Int) throws -> Hypervector {
        var inner = Hypervector(dimension: dimension)
        let start = beginRecord()
        try walkRecord(&s, depth: depth)
        endRecord(start, into: &inner)
        return inner
    }

    /// `{"$set": [...]}` (the key may repeat `count` times; the last array is the set).
    mutating func walkSetObject(_ s: inout JSONScanner, count: Int, depth: Int) throws -> [Hypervector] {
        try s.checkDepth(depth + 1)
        s.pos += 1
        var members: [Hypervector] = []
        for i in 1...count {
            _ = try s.peek(expecting: "a key")
            _ = try s.readStringKey()
            try s.expect(UInt8(ascii: ":"), "':' after a key")
            if i < count {
                try s.skipValue(depth: depth + 1)
            } else {
                _ = try s.peek(expecting: "an array")
                do {
                    members = try walkArray(&s, ordered: false, depth: depth + 1)
                } catch var e as JSONUnsupported {
                    e.path.append(.name("$set"))
                    throw e
                }
            }
            _ = try s.nextMember(close: UInt8(ascii: "}"))
        }
        return members
    }

    /// The member vectors of the array at `s.pos`: an array of objects is a list of records, any
    /// other array a list of plain values (string, number, boolean). Ordered members are permuted
    /// by their index.
    mutating func walkArray(_ s: inout JSONScanner, ordered: Bool, depth: Int) throws -> [Hypervector] {
        try s.checkDepth(depth + 1)
        s.pos += 1
        var members: [Hypervector] = []
        if try s.peek(expecting: "a value or ']'") == UInt8(ascii: "]") {
            s.pos += 1
            return members
        }
        let ofRecords = s.base[s.pos] == UInt8(ascii: "{")
        var i = 0
        repeat {
            let c = try s.peek(expecting: "a value")
            let member: Hypervector
            if ofRecords {
                // Not all objects: the array is read as plain values, which fails at element 0.
                guard c == UInt8(ascii: "{") else { throw JSONUnsupported(path: [.index(0)], what: JSONUnsupported.mixed) }
                do {
                    member = try walkNestedRecord(&s, depth: depth + 1)
                } catch var e as JSONUnsupported {
                    e.path.append(.index(i))
                    throw e
                }
            } else {
                let key: AtomKey
                switch c {
                case UInt8(ascii: "\""): key = try s.readStringKey()
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): key = try s.readNumber().key
                case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    switch try s.readLiteral() {
                    case .true: key = .bool(true)
                    case .false: key = .bool(false)
                    case .null: throw JSONUnsupported(path: [.index(i)], what: JSONUnsupported.mixed)
                    }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    // A container among plain values: its own errors come first, as they do when
                    // Foundation's tree is converted.
                    do {
                        try walkDiscardedValue(&s, depth: depth + 1)
                    } catch var e as JSONUnsupported {
                        e.path.append(.index(i))
                        throw e
                    }
                    throw JSONUnsupported(path: [.index(i)], what: JSONUnsupported.mixed)
                default:
                    throw s.error("expected a value, found \(JSONScanner.describe(c))")
                }
                member = space.atom(key)
            }
            members.append(ordered ? member.permuted(by: i) : member)
            i += 1
        } while try s.nextMember(close: UInt8(ascii: "]"))
        return members
    }

    /// Encodes a container and drops the result (only its errors matter).
    mutating func walkDiscardedValue(_ s: inout JSONScanner, depth: Int) throws {
        if s.base[s.pos] == UInt8(ascii: "[") {
            _ = try walkArray(&s, ordered: true, depth: depth)
            return
        }
        switch try JSONObjectKind(classifying: s, depth: depth) {
        case .record: _ = try walkNestedRecord(&s, depth: depth)
        case .scalarMarker: _ = try readScalarMarker(&s, depth: depth)
        case .set(let count): _ = try walkSetObject(&s, count: count, depth: depth)
        }
    }

    /// `{"$log": x, ...}`, `{"$linear": x, ...}` or `{"$circular": x, ...}`: the value and its
    /// encoding, with ``JSONRecord``'s checks in its order. Other keys are validated and ignored.
    mutating func readScalarMarker(_ s: inout JSONScanner, depth: Int) throws -> (Double, ScalarEncoding) {
        try s.checkDepth(depth + 1)
        s.pos += 1
        var values = [JSONMarkerValue](repeating: .absent, count: JSONMarkerValue.names.count)
        if try s.peek(expecting: "a key or '}'") == UInt8(ascii: "}") {
            s.pos += 1
        } else {
            repeat {
                guard try s.peek(expecting: "a key") == UInt8(ascii: "\"") else {
                    throw s.error("expected a key (a string), found \(JSONScanner.describe(s.base[s.pos]))")
                }
                let key = try s.readStringKey()
                try s.expect(UInt8(ascii: ":"), "':' after a key")
                guard let slot = JSONMarkerValue.keys.firstIndex(of: key) else {
                    try s.skipValue(depth: depth + 1)
                    continue
                }
                let c = try s.peek(expecting: "a value")
                if c == UInt8(ascii: "-") || JSONScanner.isDigit(c) {
                    values[slot] = .number(try s.readNumber().doubleValue)
                } else {
                    try s.skipValue(depth: depth + 1)
                    values[slot] = .notANumber
                }
            } while try s.nextMember(close: UInt8(ascii: "}"))
        }
        func number(_ slot: JSONMarkerValue.Slot) throws -> Double? {
            switch values[slot.rawValue] {
            case .absent: return nil
            case .number(let x): return x
            case .notANumber:
                let name = JSONMarkerValue.names[slot.rawValue]
                throw JSONUnsupported(path: [.name(name)], what: "\(name) must be a number")
            }
        }
        if let x = try number(.log) {
            let lo = try number(.lower) ?? 0.1
            let hi = try number(.upper) ?? 1e9
            guard lo > 0, hi > lo else { throw JSONUnsupported(path: [], what: "$log needs 0 < lower < upper") }
            return (x, .log(lower: lo, upper: hi))
        }
        if let x = try number(.linear) {
            guard let lo = try number(.lower), let hi = try number(.upper), hi > lo else {
                throw JSONUnsupported(path: [], what: "$linear needs numeric lower < upper")
            }
            return (x, .linear(lower: lo, upper: hi))
        }
        if let x = try number(.circular) {
            guard let p = try number(.period), p > 0 else {
                throw JSONUnsupported(path: [], what: "$circular needs a positive period")
            }
            return (x, .circular(period: p))
        }
        preconditionFailure("readScalarMarker called on an object without a marker key")
    }
}

/// A member of an object being walked: its key, and the index of its pair among the encoder's
/// items (−1 when it added none), so a repeated key can take its earlier pair back out.
struct JSONMember {
    let key: UInt64
    var item: Int
}

/// What an object in value position stands for. Decided by a look-ahead over its keys (a copy
/// of the scanner), because a marker key may come after other members.
enum JSONObjectKind: Equatable {
    case record
    case scalarMarker
    /// Only `$set` keys (`count` of them), the last holding an array.
    case set(count: Int)

    static let log = AtomKey.string("$log"), linear = AtomKey.string("$linear")
    static let circular = AtomKey.string("$circular"), set = AtomKey.string("$set")

    init(classifying scanner: JSONScanner, depth: Int) throws(JSONEncodingError) {
        var t = scanner
        t.pos += 1
        self = .record
        if try t.peek(expecting: "a key or '}'") == UInt8(ascii: "}") { return }
        var setCount = 0, onlySet = true, lastSetIsArray = false
        repeat {
            guard try t.peek(expecting: "a key") == UInt8(ascii: "\"") else {
                throw t.error("expected a key (a string), found \(JSONScanner.describe(t.base[t.pos]))")
            }
            let key = try t.readStringKey()
            try t.expect(UInt8(ascii: ":"), "':' after a key")
            if key == Self.log || key == Self.linear || key == Self.circular {
                self = .scalarMarker
                return
            }
            let first = try t.peek(expecting: "a value")
            if key == Self.set {
                setCount += 1
                lastSetIsArray = first == UInt8(ascii: "[")
            } else {
                onlySet = false
            }
            try t.skipValue(depth: depth + 1)
        } while try t.nextMember(close: UInt8(ascii: "}"))
        if onlySet && lastSetIsArray { self = .set(count: setCount) }
    }
}

/// A key a scalar marker reads, as found in the object.
enum JSONMarkerValue {
    case absent
    case number(Double)
    case notANumber

    enum Slot: Int { case log, linear, circular, lower, upper, period }
    static let names = ["$log", "$linear", "$circular", "lower", "upper", "period"]
    static let keys = names.map { AtomKey.string($0) }
}

/// A value the encoder has no mapping for, with the way to it (innermost step first, since the
/// steps are added as the error travels out).
struct JSONUnsupported: Error {
    enum Step {
        /// An object key, by the offset of its opening quote (decoded only if the error surfaces).
        case key(offset: Int)
        /// A name known in advance (`$set`, marker keys).
        case name(String)
        case index(Int)
    }

    var path: [Step]
    let what: String

    static let mixed = "mixed or nested array (a list holds either objects or plain values)"

    /// The JSONPath-like location ``JSONRecord`` reports: `$.a.b[1]`.
    func renderPath(in bytes: UnsafeRawBufferPointer) -> String {
        var out = "$"
        for step in path.reversed() {
            switch step {
            case .key(let offset):
                var s = JSONScanner(bytes)
                s.pos = offset
                var text = CollectSink()
                try? s.readString(into: &text)
                out += "." + String(decoding: text.bytes, as: UTF8.self)
            case .name(let name):
                out += "." + name
            case .index(let i):
                out += "[\(i)]"
            }
        }
        return out
    }
}
