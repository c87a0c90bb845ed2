import Packets

/// Why a flow specification is not valid (RFC 8955 §4.2), or bytes do not decode to one.
public struct FlowspecError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The wire form of a flow specification's match: the NLRI of RFC 8955 §4 (IPv4) and RFC 8956
/// (IPv6). What a router receives is these bytes; the speakers' text forms are views of them,
/// and `validate` holds both to the RFC's rules.
public enum FlowspecNLRI {
    /// The largest value each numeric or bitmask type may carry.
    static func maxValue(_ t: FlowspecType) -> UInt64 {
        switch t {
        case .ipProtocol, .icmpType, .icmpCode: return 0xFF
        case .port, .destinationPort, .sourcePort, .packetLength, .tcpFlags: return 0xFFFF
        case .dscp: return 63
        case .fragment: return 0x0F   // DF, IsF, FF, LF
        case .destination, .source: return 0
        }
    }

    /// Types in strictly increasing order, each with at least one operator, the first of which
    /// stands alone (no AND bit), values within their type's width, prefixes of the family.
    public static func validate(_ r: FlowspecRule) throws(FlowspecError) {
        guard !r.components.isEmpty else { throw FlowspecError("a flow specification needs at least one component") }
        var last: FlowspecType?
        for c in r.components {
            if let l = last, c.type <= l { throw FlowspecError("component \(c.type.keyword) out of order or repeated (RFC 8955 §4.2: strictly increasing types)") }
            last = c.type
            switch c {
            case .prefix(let t, let p):
                guard t.isPrefix else { throw FlowspecError("\(t.keyword) is not a prefix component") }
                guard p.address.isV4 == (r.family == .ipv4) else { throw FlowspecError("\(t.keyword) \(p) is not an \(r.family.rawValue) prefix") }
            case .numeric(let t, let ops):
                guard !t.isPrefix, !t.isBitmask else { throw FlowspecError("\(t.keyword) does not take numeric operators") }
                try checkOps(t, ops.map { ($0.and, $0.value) })
            case .bitmask(let t, let ops):
                guard t.isBitmask else { throw FlowspecError("\(t.keyword) does not take bitmask operators") }
                try checkOps(t, ops.map { ($0.and, $0.value) })
            }
        }
    }

    static func checkOps(_ t: FlowspecType, _ ops: [(and: Bool, value: UInt64)]) throws(FlowspecError) {
        guard let first = ops.first else { throw FlowspecError("\(t.keyword) has no operator") }
        guard !first.and else { throw FlowspecError("\(t.keyword): the first operator cannot be ANDed with nothing") }
        for op in ops where op.value > maxValue(t) {
            throw FlowspecError("\(t.keyword) value \(op.value) exceeds \(maxValue(t))")
        }
    }

    /// The NLRI bytes: length (one byte below 240, else two with the top nibble 0xF), then
    /// each component.
    public static func encode(_ r: FlowspecRule) throws(FlowspecError) -> [UInt8] {
        try validate(r)
        var body: [UInt8] = []
        for c in r.components {
            body.append(c.type.rawValue)
            switch c {
            case .prefix(_, let p):
                let n = p.network
                body.append(n.length)
                if r.family == .ipv6 { body.append(0) }    // offset
                body += prefixBytes(n)
            case .numeric(_, let ops):
                for (i, op) in ops.enumerated() { body += operand(op.opBits, op.value, last: i == ops.count - 1) }
            case .bitmask(_, let ops):
                for (i, op) in ops.enumerated() { body += operand(op.opBits, op.value, last: i == ops.count - 1) }
            }
        }
        guard body.count < 4096 else { throw FlowspecError("NLRI of \(body.count) bytes exceeds 4095") }
        let length: [UInt8] = body.count < 240 ? [UInt8(body.count)] : [0xF0 | UInt8(body.count >> 8), UInt8(body.count & 0xFF)]
        return length + body
    }

    static func operand(_ bits: UInt8, _ value: UInt64, last: Bool) -> [UInt8] {
        let size = value <= 0xFF ? 1 : value <= 0xFFFF ? 2 : value <= 0xFFFF_FFFF ? 4 : 8
        let lenBits: UInt8 = size == 1 ? 0x00 : size == 2 ? 0x10 : size == 4 ? 0x20 : 0x30
        var out: [UInt8] = [(last ? 0x80 : 0) | lenBits | bits]
        for i in (0..<size).reversed() { out.append(UInt8(truncatingIfNeeded: value >> (UInt64(i) * 8))) }
        return out
    }

    static func prefixBytes(_ p: IPPrefix) -> [UInt8] {
        let n = (Int(p.length) + 7) / 8
        var all: [UInt8] = []
        switch p.address {
        case .v4(let a): for i in (0..<4).reversed() { all.append(UInt8(truncatingIfNeeded: a >> (UInt32(i) * 8))) }
        case .v6(let h, let l):
            for i in (0..<8).reversed() { all.append(UInt8(truncatingIfNeeded: h >> (UInt64(i) * 8))) }
            for i in (0..<8).reversed() { all.append(UInt8(truncatingIfNeeded: l >> (UInt64(i) * 8))) }
        }
        return Array(all.prefix(n))
    }

    /// Reads NLRI bytes back (the match only; the action travels as an extended community).
    public static func decode(_ bytes: [UInt8], family: FlowspecRule.Family) throws(FlowspecError) -> FlowspecRule {
        var i = 0
        func byte() throws(FlowspecError) -> UInt8 {
            guard i < bytes.count else { throw FlowspecError("NLRI ends early at byte \(i)") }
            defer { i += 1 }
            return bytes[i]
        }
        var length = Int(try byte())
        if length >= 0xF0 { length = (length & 0x0F) << 8 | Int(try byte()) }
        guard i + length == bytes.count else { throw FlowspecError("NLRI length \(length) but \(bytes.count - i) bytes follow") }
        var components: [FlowspecComponent] = []
        while i < bytes.count {
            let tb = try byte()
            guard let t = FlowspecType(rawValue: tb) else { throw FlowspecError("unknown component type \(tb) at byte \(i - 1)") }
            if t.isPrefix {
                let len = try byte()
                if family == .ipv6 {
                    let offset = try byte()
                    guard offset == 0 else { throw FlowspecError("IPv6 prefix offset \(offset) is not supported") }
                }
                guard len <= (family == .ipv4 ? 32 : 128) else { throw FlowspecError("prefix length \(len) too long") }
                var raw = [UInt8](repeating: 0, count: family == .ipv4 ? 4 : 16)
                for k in 0..<((Int(len) + 7) / 8) { raw[k] = try byte() }
                let address: IPAddress
                if family == .ipv4 {
                    address = .v4(raw.reduce(0) { $0 << 8 | UInt32($1) })
                } else {
                    address = .v6(high: raw[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, low: raw[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
                }
                components.append(.prefix(t, IPPrefix(address, length: len)))
                continue
            }
            var ops: [(UInt8, UInt64)] = []
            while true {
                let op = try byte()
                let size = 1 << Int((op >> 4) & 0x03)
                var v: UInt64 = 0
                for _ in 0..<size { v = v << 8 | UInt64(try byte()) }
                ops.append((op, v))
                if op & 0x80 != 0 { break }
            }
            components.append(t.isBitmask ? .bitmask(t, ops.map { BitmaskOp(opByte: $0.0, value: $0.1) })
                                           : .numeric(t, ops.map { NumericOp(opByte: $0.0, value: $0.1) }))
        }
        let r = FlowspecRule(family: family, components: components, action: .discard)
        // Decoded order is the wire's: sorting in the initialiser would hide a misordered NLRI.
        for (a, b) in zip(components, components.dropFirst()) where b.type <= a.type {
            throw FlowspecError("component \(b.type.keyword) out of order or repeated")
        }
        try validate(r)
        return r
    }
}
