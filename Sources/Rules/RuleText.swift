/// The printer of the rule language (grammar in `RuleParser.swift`).
///
/// Canonical form, one line, options in a fixed order and omitted at their defaults:
///
///     (rule MATCH ACTION [:id N] [:priority P] [:burst B] [:ttl Ns] [:name "…"] [:created NS] [:explain "…"])
///
/// MATCH is `(and)` for no predicates, the predicate itself for one, `(and P1 P2 …)` otherwise.
/// Values print symbolically where the field has names (`udp`, `syn|ack`, `ephemeral`,
/// `10.0.0.1`), masks of plain numeric fields in hexadecimal.
/// Strings escape `"` `\` and control characters, so a rule never spans two lines.
extension Rule: CustomStringConvertible {
    /// The canonical text; `Rule(parsing: text) == self` for every rule.
    public var text: String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``text``'s UTF-8 to `out`: a table's state file is 100k of these, written into
    /// one buffer of bytes rather than built from a string per part (which took twice as long).
    public func write(to out: inout [UInt8]) {
        out += "(rule "
        switch predicates.count {
        case 0: out += "(and)"
        case 1: predicates[0].write(to: &out)
        default:
            out += "(and"
            for p in predicates {
                out += " "
                p.write(to: &out)
            }
            out += ")"
        }
        out += " "
        out += action.text
        if id != 0 { out += " :id "; out += String(id) }
        if priority != 0 { out += " :priority "; out += String(priority) }
        if case .rateLimit(_, let b?) = action { out += " :burst "; out += String(b) }
        if let t = ttlSeconds { out += " :ttl "; out += String(t); out += "s" }
        if let n = name { out += " :name "; out += Self.quote(n) }
        if let c = createdAt { out += " :created "; out += String(c) }
        if let e = explanation { out += " :explain "; out += Self.quote(e) }
        out += ")"
    }

    public var description: String { text }

    /// A string literal of the rule language.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 || u.value == 0x7F || u.properties.generalCategory == .lineSeparator
                    || u.properties.generalCategory == .paragraphSeparator {
                    out += "\\u{" + String(u.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

extension Predicate: CustomStringConvertible {
    /// Canonical text of the predicate, e.g. `(= proto udp)`, `(in src_ip 10.0.0.0/8)`.
    public var text: String {
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``text``'s UTF-8 to `out`, part by part (see ``Rule/write(to:)``).
    func write(to out: inout [UInt8]) {
        switch self {
        case .equals(let f, let v):
            out += "(= "; out += f.rawValue; out += " "; out += f.format(v); out += ")"
        case .prefix(let f, let a, 128) where !a.isV4:
            // One IPv6 address; reads back as the /128 it is.
            out += "(= "; out += f.rawValue; out += " "; out += a.description; out += ")"
        case .prefix(let f, let a, let len):
            out += "(in "; out += f.rawValue; out += " "; out += a.description; out += "/"; out += String(len); out += ")"
        case .range(let f, let r):
            let symbolic = f != .proto && f != .tcpFlags
            out += "(range \(f.rawValue) \(f.format(r.lowerBound, symbolic: symbolic)) \(f.format(r.upperBound, symbolic: symbolic)))"
        case .mask(let f, let m, let v):
            out += "(mask \(f.rawValue) \(Self.maskOperand(f, m)) \(Self.maskOperand(f, v)))"
        case .bytes(let b):
            let mask = b.isWholeBytes ? "" : " :mask \"\(PayloadMatch.hex(b.mask))\""
            out += "(bytes \(PayloadMatch.anchor) \(b.offset) \"\(PayloadMatch.hex(b.value))\"\(mask))"
        }
    }

    public var description: String { text }

    static func maskOperand(_ f: RuleField, _ v: UInt64) -> String {
        switch f {
        case .tcpFlags, .srcIP, .dstIP: return f.format(v)
        default: return "0x" + String(v, radix: 16)
        }
    }
}

extension Action: CustomStringConvertible {
    /// `(drop)`, `(pass)`, `(count)`, `(rate-limit PPS)`, `(syn-auth)`, `(flow-check)`; a rate limit's burst is the rule
    /// option `:burst`.
    public var text: String {
        switch self {
        case .rateLimit(let pps, _): return "(rate-limit \(pps))"
        case .drop, .pass, .count, .synAuth, .flowCheck: return "(\(keyword))"
        }
    }

    public var description: String { text }
}

/// The printer's appends: a string's UTF-8 copied whole.
extension Array where Element == UInt8 {
    static func += (out: inout [UInt8], s: String) {
        out.append(contentsOf: s.utf8)
    }
}
