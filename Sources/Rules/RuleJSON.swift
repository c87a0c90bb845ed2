import Packets

/// The JSON (API) form of a rule. Keys are stable and snake_case; optional members are omitted
/// when absent; numbers are plain JSON numbers.
///
///     {
///       "id": 1, "priority": 100,
///       "match": [
///         {"field": "proto", "eq": 17},
///         {"field": "src_ip", "prefix": "10.0.0.0/8"},
///         {"field": "ip_len", "range": [1000, 1500]},
///         {"field": "tcp_flags", "mask": 18, "value": 2}
///       ],
///       "action": {"rate_limit": 5000, "burst": 500},     // or "drop", "pass", "count", "syn_auth", "flow_check"
///       "ttl_s": 300, "name": "dns-amp", "created_ns": 1700000000000000000,
///       "explanation": "src_port=53 presence 0.02→0.91"
///     }
///
/// Decoding is a little more forgiving than encoding: values (`eq`, `range` bounds, `mask`,
/// `value`) may also be the symbols of the rule text (`"udp"`, `"syn|ack"`, `"10.0.0.1"`), an
/// IPv6 `eq` becomes a `/128` prefix, and `priority` defaults to 0. `id`, `match` and `action`
/// are required — a missing `match` must not silently mean "match everything". Decoded rules
/// are validated (``Rule/validate()``).
extension Rule: Codable {
    enum CodingKeys: String, CodingKey {
        case id, priority, match, action
        case ttl = "ttl_s", name, explanation, createdAt = "created_ns"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(UInt32.self, forKey: .id),
            match: try c.decode([Predicate].self, forKey: .match),
            action: try c.decode(Action.self, forKey: .action),
            priority: try c.decodeIfPresent(Int32.self, forKey: .priority) ?? 0,
            ttlSeconds: try c.decodeIfPresent(UInt32.self, forKey: .ttl),
            name: try c.decodeIfPresent(String.self, forKey: .name),
            explanation: try c.decodeIfPresent(String.self, forKey: .explanation),
            createdAt: try c.decodeIfPresent(UInt64.self, forKey: .createdAt)
        )
        do { try validate() } catch {
            throw DecodingError.dataCorruptedError(forKey: .match, in: c, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(priority, forKey: .priority)
        try c.encode(predicates, forKey: .match)
        try c.encode(action, forKey: .action)
        try c.encodeIfPresent(ttlSeconds, forKey: .ttl)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(explanation, forKey: .explanation)
    }
}

extension Predicate: Codable {
    enum CodingKeys: String, CodingKey {
        case field, eq, prefix, range, mask, value, anchor, offset, bytes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.bytes) {
            self = .bytes(try Self.decodePayload(c))
            return
        }
        let field = try c.decode(RuleField.self, forKey: .field)
        func value(_ key: CodingKeys) throws -> UInt64 {
            try Self.decodeValue(field, in: c, forKey: key)
        }
        if c.contains(.eq) {
            if field.isAddress, let s = try? c.decode(String.self, forKey: .eq), s.utf8.contains(UInt8(ascii: ":")),
               let a = IPAddress(s), !a.isV4 {
                self = .prefix(field, a, length: 128)
            } else {
                self = .equals(field, try value(.eq))
            }
        } else if c.contains(.prefix) {
            let s = try c.decode(String.self, forKey: .prefix)
            switch IPPrefix.parse(s) {
            case .success(let p): self = .prefix(field, p.address, length: p.length)
            case .failure(.address):
                throw DecodingError.dataCorruptedError(forKey: .prefix, in: c, debugDescription: "bad address \(s)")
            case .failure(.length):
                throw DecodingError.dataCorruptedError(forKey: .prefix, in: c, debugDescription: "bad prefix length in \(s)")
            }
        } else if c.contains(.range) {
            var bounds = try c.nestedUnkeyedContainer(forKey: .range)
            let lo = try Self.decodeValue(field, from: &bounds)
            let hi = try Self.decodeValue(field, from: &bounds)
            guard bounds.isAtEnd, lo <= hi else {
                throw DecodingError.dataCorruptedError(forKey: .range, in: c, debugDescription: "range must be [lo, hi] with lo ≤ hi")
            }
            self = .range(field, lo...hi)
        } else if c.contains(.mask) {
            self = .mask(field, mask: try value(.mask), value: try value(.value))
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath,
                debugDescription: "a predicate needs one of eq, prefix, range, mask"))
        }
    }

    /// `{"anchor": "payload", "offset": N, "bytes": "hex", "mask": "hex"}`, mask optional.
    static func decodePayload(_ c: KeyedDecodingContainer<CodingKeys>) throws -> PayloadMatch {
        let anchor = try c.decodeIfPresent(String.self, forKey: .anchor) ?? PayloadMatch.anchor
        guard anchor == PayloadMatch.anchor else {
            throw DecodingError.dataCorruptedError(forKey: .anchor, in: c, debugDescription: "the anchor must be \"payload\", not \"\(anchor)\"")
        }
        let offset = try c.decode(Int.self, forKey: .offset)
        guard (0...PayloadMatch.maxOffset).contains(offset) else {
            throw DecodingError.dataCorruptedError(forKey: .offset, in: c, debugDescription: "payload offset \(offset) is outside 0…\(PayloadMatch.maxOffset)")
        }
        let hex = try c.decode(String.self, forKey: .bytes)
        guard let value = PayloadMatch.bytes(hex: hex), value.count <= PayloadMatch.maxLength else {
            throw DecodingError.dataCorruptedError(forKey: .bytes, in: c, debugDescription: "expected 1…\(PayloadMatch.maxLength) bytes as hex, found \"\(hex)\"")
        }
        var mask: [UInt8]?
        if let m = try c.decodeIfPresent(String.self, forKey: .mask) {
            guard let mb = PayloadMatch.bytes(hex: m), mb.count == value.count else {
                throw DecodingError.dataCorruptedError(forKey: .mask, in: c, debugDescription: "expected a hex mask of \(value.count) bytes, found \"\(m)\"")
            }
            mask = mb
        }
        let p = PayloadMatch(offset: offset, value: value, mask: mask)
        do { try p.validate() } catch {
            throw DecodingError.dataCorruptedError(forKey: .mask, in: c, debugDescription: error.description)
        }
        return p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if case .bytes(let b) = self {
            try c.encode(PayloadMatch.anchor, forKey: .anchor)
            try c.encode(b.offset, forKey: .offset)
            try c.encode(PayloadMatch.hex(b.value), forKey: .bytes)
            if !b.isWholeBytes { try c.encode(PayloadMatch.hex(b.mask), forKey: .mask) }
            return
        }
        try c.encode(field, forKey: .field)
        switch self {
        case .equals(_, let v): try c.encode(v, forKey: .eq)
        case .prefix(_, let a, let len): try c.encode("\(a)/\(len)", forKey: .prefix)
        case .range(_, let r): try c.encode([r.lowerBound, r.upperBound], forKey: .range)
        case .mask(_, let m, let v):
            try c.encode(m, forKey: .mask)
            try c.encode(v, forKey: .value)
        case .bytes:
            break   // encoded above
        }
    }

    static func decodeValue(_ field: RuleField, in c: KeyedDecodingContainer<CodingKeys>, forKey key: CodingKeys) throws -> UInt64 {
        if let n = try? c.decode(UInt64.self, forKey: key) { return n }
        let s = try c.decode(String.self, forKey: key)
        guard let v = field.parseValue(s) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected \(field.valueHint), found \"\(s)\"")
        }
        return v
    }

    static func decodeValue(_ field: RuleField, from c: inout any UnkeyedDecodingContainer) throws -> UInt64 {
        if let n = try? c.decode(UInt64.self) { return n }
        let s = try c.decode(String.self)
        guard let v = field.parseValue(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected \(field.valueHint), found \"\(s)\"")
        }
        return v
    }
}

extension Action: Codable {
    enum CodingKeys: String, CodingKey {
        case rateLimit = "rate_limit", burst
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let s = try? single.decode(String.self) {
            switch s {
            case "drop": self = .drop
            case "pass": self = .pass
            case "count": self = .count
            case "syn_auth": self = .synAuth
            case "flow_check": self = .flowCheck
            default:
                throw DecodingError.dataCorruptedError(in: single,
                    debugDescription: "expected \"drop\", \"pass\", \"count\", \"syn_auth\", \"flow_check\" or {\"rate_limit\": pps}, found \"\(s)\"")
            }
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self = .rateLimit(pps: try c.decode(UInt64.self, forKey: .rateLimit),
                          burst: try c.decodeIfPresent(UInt64.self, forKey: .burst))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .drop, .pass, .count, .synAuth, .flowCheck:
            var c = encoder.singleValueContainer()
            // JSON spells keywords with underscores, as it does "rate_limit".
            try c.encode(String(keyword.map { $0 == "-" ? "_" : $0 }))
        case .rateLimit(let pps, let burst):
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(pps, forKey: .rateLimit)
            try c.encodeIfPresent(burst, forKey: .burst)
        }
    }
}
