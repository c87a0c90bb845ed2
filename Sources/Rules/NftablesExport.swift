import Packets

/// A rule the nftables exporter cannot express, and why.
public struct NftablesExportError: Error, Hashable, Sendable, CustomStringConvertible {
    public var ruleID: UInt32
    public var reason: String
    public var description: String { "rule \(ruleID): \(reason) has no nftables form" }
}

/// Rules as an nftables ruleset, for hosts and routers that filter with nftables instead of XDP.
///
/// Same semantics as the filter: rules are tried by priority (highest first, then id), the first
/// that matches decides; a rate limit drops what is over its rate and passes the rest; `count`
/// passes and counts (in the filter too, it decides). Transport fields match only packets that have that header (not later
/// fragments), as in the filter. The ruleset replaces its table in one transaction, so loading it
/// again swaps the rules atomically. Before defragmentation: the `inet` chain hooks prerouting
/// at priority -450; with a device, a `netdev` chain hooks that device's ingress instead.
public enum NftablesExport {
    /// `allowlist`: sources the host always passes (its filter's allowlist), accepted before
    /// any rule as the filter does.
    public static func ruleset(_ rules: [Rule], table: String = "holon", device: String? = nil,
                               allowlist: [IPPrefix] = []) throws(NftablesExportError) -> String {
        let family = device == nil ? "inet" : "netdev"
        var lines = [
            "# \(rules.count) rule(s) from holon. Load with: nft -f FILE (replaces table \(family) \(table))",
            "table \(family) \(table)",
            "delete table \(family) \(table)",
            "table \(family) \(table) {",
            "\tchain filter {",
        ]
        if let device {
            lines.append("\t\ttype filter hook ingress device \"\(device)\" priority -500; policy accept;")
        } else {
            lines.append("\t\ttype filter hook prerouting priority -450; policy accept;")
        }
        // The filter passes an allowlisted source whatever rule it meets; left out, the ruleset
        // dropped the resolvers and peers the host never drops.
        for (family, prefixes) in [("ip", allowlist.filter(\.address.isV4)), ("ip6", allowlist.filter { !$0.address.isV4 })] where !prefixes.isEmpty {
            lines.append("\t\t\(family) saddr { \(prefixes.map { $0.network.description }.joined(separator: ", ")) } counter accept comment \"holon allowlist\"")
        }
        let ordered = rules.sorted { $0.outranks($1) }
        var parts: [[Part]] = []
        parts.reserveCapacity(ordered.count)
        for r in ordered { parts.append(try match(r)) }
        var sets: [String] = []
        var setCount = 0
        var i = 0
        while i < ordered.count {
            let r = ordered[i]
            let run = Self.run(from: i, ordered, parts)
            if let (varying, count) = run {
                // Rules of one action that differ in one address or port only: one rule over a
                // set of those values. A blocklist of a million was a million rules, each tried
                // in turn for every packet (and `nft -f` took 5 GB and 33 s to check them).
                setCount += 1
                let name = "rules_\(setCount)"
                var elements: [String] = []
                var seen = Set<String>()
                for k in i..<(i + count) where seen.insert(parts[k][varying].element!).inserted { elements.append(parts[k][varying].element!) }
                let selector = parts[i][varying].selector!
                let rows = stride(from: 0, to: elements.count, by: 16).map { elements[$0..<min($0 + 16, elements.count)].joined(separator: ", ") }
                sets += ["\tset \(name) {", "\t\ttypeof \(selector)", "\t\tflags interval", "\t\tauto-merge",
                         "\t\telements = {\n\t\t\t\(rows.joined(separator: ",\n\t\t\t"))\n\t\t}", "\t}"]
                var shared = parts[i]
                shared[varying] = Part(text: "\(selector) @\(name)")
                let verdict = r.action == .drop ? "drop" : "accept"
                lines.append("\t\t\(text(shared)) counter \(verdict) comment \"holon \(r.id) … \(ordered[i + count - 1].id) (\(count) rules)\"")
                i += count
                continue
            }
            let match = text(parts[i])
            let comment = "comment \"holon \(r.id)\(r.name.map { " \(sanitize($0))" } ?? "")\""
            switch r.action {
            case .drop:
                lines.append("\t\t\(match) counter drop \(comment)")
            case .pass, .count:
                lines.append("\t\t\(match) counter accept \(comment)")
            case .rateLimit(let pps, let burst):
                let b = burst.map { " burst \($0) packets" } ?? ""
                lines.append("\t\t\(match) limit rate over \(pps)/second\(b) counter drop \(comment)")
                lines.append("\t\t\(match) counter accept \(comment)")
            case .synAuth:
                // nftables keeps no per-SYN memory outside conntrack; its synproxy is a different
                // mechanism (cookies) that needs notrack rules and host sysctls it cannot set.
                throw NftablesExportError(ruleID: r.id, reason: "syn-auth (retransmission authentication keeps per-SYN state)")
            case .flowCheck:
                // `ct state established` is only known after conntrack (priority -200), and
                // this chain runs before defragmentation and conntrack (or on netdev ingress).
                throw NftablesExportError(ruleID: r.id, reason: "flow-check (the chain runs before conntrack knows the connection)")
            }
            i += 1
        }
        // The sets go before the chain that names them.
        lines.insert(contentsOf: sets, at: 4)
        lines += ["\t}", "}", ""]
        return lines.joined(separator: "\n")
    }

    /// One predicate as nftables text; for an address or a port of a named transport, also its
    /// selector (`ip saddr`, `udp dport`) and value (`192.0.2.0/24`, `53`), which a set of such
    /// values can stand for.
    struct Part: Equatable {
        var text: String
        var selector: String?
        var element: String?
    }

    /// The rule's predicates as an nftables match: empty, a rule matches every IP packet, as in
    /// the filter (l4proto is set for IP).
    static func text(_ parts: [Part]) -> String {
        parts.isEmpty ? "meta l4proto 0-255" : parts.map(\.text).joined(separator: " ")
    }

    /// How many rules from `start` on can be one rule over a set, and the predicate their set
    /// takes the place of: the same action (drop, pass or count; a rate limit has a bucket of
    /// its own), the same predicates but in one, an address or a port with the same selector.
    /// Merged, they decide as they did one by one: they are consecutive in the order nftables
    /// tries them, and whichever matched first gave the same verdict. Nil for fewer than two.
    static func run(from start: Int, _ ordered: [Rule], _ parts: [[Part]]) -> (varying: Int, count: Int)? {
        let first = ordered[start]
        guard [.drop, .pass, .count].contains(first.action) else { return nil }
        var varying: Int?
        var end = start + 1
        while end < ordered.count, ordered[end].action == first.action, parts[end].count == parts[start].count {
            let differ = parts[start].indices.filter { parts[start][$0] != parts[end][$0] }
            guard differ.count <= 1 else { break }
            let v = differ.first ?? varying ?? parts[start].firstIndex { $0.selector != nil }
            guard let v, varying == nil || varying == v, let selector = parts[start][v].selector, parts[end][v].selector == selector else { break }
            varying = v
            end += 1
        }
        guard let varying, end - start >= 2 else { return nil }
        return (varying, end - start)
    }

    /// The rule's predicates, each as nftables text (``text(_:)`` joins them).
    static func match(_ r: Rule) throws(NftablesExportError) -> [Part] {
        let v6 = r.predicates.contains { p in
            if case .prefix(_, .v6, _) = p { return true }
            return false
        }
        let proto = r.predicates.lazy.compactMap { p -> UInt64? in
            if case .equals(.proto, let v) = p { return v }
            return nil
        }.first
        if v6 && r.predicates.contains(where: { $0.field.map { [.df, .mf, .fragOffset, .ipID].contains($0) } ?? false }) {
            throw NftablesExportError(ruleID: r.id, reason: "an IPv4 header field with an IPv6 address")
        }
        // nft adds the protocol dependencies a header field needs (`ip ttl` matches IPv4 only).
        var parts: [Part] = []
        for p in r.predicates {
            parts.append(try expression(p, v6: v6, proto: proto, rule: r.id))
        }
        return parts
    }

    static func expression(_ p: Predicate, v6: Bool, proto: UInt64?, rule id: UInt32) throws(NftablesExportError) -> Part {
        // Addresses, and the ports of a named transport: values a set can hold.
        func settable(_ f: RuleField, _ value: String) throws(NftablesExportError) -> Part {
            let selector = try lhs(f)
            let named = f.isAddress || ([.srcPort, .dstPort].contains(f) && !selector.hasPrefix("meta"))
            return Part(text: "\(selector) \(value)", selector: named ? selector : nil, element: named ? value : nil)
        }
        let ip = v6 ? "ip6" : "ip"
        // Ports: the protocol's own header when the rule names it, else either transport.
        let transport: String = switch proto {
        case UInt64(IPProtocol.tcp)?: "tcp"
        case UInt64(IPProtocol.udp)?: "udp"
        default: "meta l4proto { tcp, udp } th"
        }
        let icmp = v6 ? "icmpv6" : "icmp"
        func lhs(_ f: RuleField) throws(NftablesExportError) -> String {
            switch f {
            case .proto: return "meta l4proto"
            case .srcIP: return "\(ip) saddr"
            case .dstIP: return "\(ip) daddr"
            case .srcPort, .srcPortBand: return "\(transport) sport"
            case .dstPort, .dstPortBand: return "\(transport) dport"
            case .tcpFlags: return "tcp flags"
            case .ttl: return v6 ? "ip6 hoplimit" : "ip ttl"
            case .ipID: return "ip id"
            case .ipLen, .sizeClass: return v6 ? "ip6 length" : "ip length"
            case .tcpWindow: return "tcp window"
            case .tcpUrgentPtr: return "tcp urgptr"
            case .dscp: return "\(ip) dscp"
            case .ecn: return "\(ip) ecn"
            case .icmpType: return "\(icmp) type"
            case .icmpCode: return "\(icmp) code"
            case .df, .mf, .fragOffset: return "ip frag-off"
            case .payloadLen, .direction:
                throw NftablesExportError(ruleID: id, reason: f.rawValue)
            }
        }
        switch p {
        case .bytes(let b):
            return Part(text: try payload(b, proto: proto, rule: id))
        case .equals(.fragOffset, let v): return Part(text: "ip frag-off & 0x1fff \(v)")
        case .range(.fragOffset, let r): return Part(text: "ip frag-off & 0x1fff \(r.lowerBound)-\(r.upperBound)")
        case .equals(let f, _) where valueSetFields.contains(f), .range(let f, _) where valueSetFields.contains(f),
             .mask(let f, _, _) where valueSetFields.contains(f):
            // A class, band or flag stands for a set of header values: the predicate becomes the
            // union of the header values of the field values it selects (from the field table).
            let values = (0...f.maxValue).filter { p.matches(value: $0) }
            guard !values.isEmpty else { throw NftablesExportError(ruleID: id, reason: "a \(f.rawValue) predicate no value meets") }
            switch f {
            case .df, .mf:
                let bit = f == .df ? "0x4000" : "0x2000"
                return Part(text: values.count == 2 ? "ip version 4" : "ip frag-off & \(bit) \(values[0] == 0 ? "==" : "!=") 0")
            case .sizeClass:
                // ip6 length is the payload length: the class is of the whole IP packet.
                let base = v6 ? 40 : 0
                let lengths = values.compactMap { SizeClass(rawValue: Int($0))?.ipLengths }
                return Part(text: "\(try lhs(f)) \(intervals(lengths, minus: base))")
            default:
                let ports = values.compactMap { PortBand(rawValue: Int($0)).map { Int($0.ports.lowerBound)...Int($0.ports.upperBound) } }
                return Part(text: "\(try lhs(f)) \(intervals(ports, minus: 0))")
            }
        case .equals(.tcpFlags, let v): return Part(text: "tcp flags == 0x\(String(v, radix: 16))")
        case .equals(let f, let v) where f.isAddress:
            // An IPv6 address is folded to 64 bits in an equality: only IPv4 has a readable form.
            guard v <= 0xFFFF_FFFF, !v6 else { throw NftablesExportError(ruleID: id, reason: "an IPv6 address equality (write it as a /128 prefix)") }
            return try settable(f, "\(IPAddress.v4(UInt32(v)))")
        case .equals(let f, let v): return try settable(f, "\(v)")
        case .prefix(let f, let a, let len): return try settable(f, "\(a)/\(len)")
        case .range(let f, let r): return try settable(f, "\(r.lowerBound)-\(r.upperBound)")
        case .mask(let f, let m, let v):
            return Part(text: "\(try lhs(f)) & 0x\(String(m, radix: 16)) == 0x\(String(v, radix: 16))")
        }
    }

    /// A byte predicate as raw payload matches on nftables' inner header (`@ih`: the bytes after
    /// the TCP or UDP header, the payload Holon means), 16 bytes (nftables' widest compare) each.
    /// nftables finds that base only after TCP and UDP, so the rule must name one of them.
    static func payload(_ b: PayloadMatch, proto: UInt64?, rule id: UInt32) throws(NftablesExportError) -> String {
        guard proto == UInt64(IPProtocol.tcp) || proto == UInt64(IPProtocol.udp) else {
            throw NftablesExportError(ruleID: id, reason: "a byte predicate without (= proto tcp) or (= proto udp) (nftables reads the payload only after those headers)")
        }
        var parts: [String] = []
        var i = 0
        while i < b.value.count {
            let n = min(16, b.value.count - i)
            let at = "@ih,\((b.offset + i) * 8),\(n * 8)"
            let value = "0x" + PayloadMatch.hex(Array(b.value[i..<(i + n)]))
            let mask = Array(b.mask[i..<(i + n)])
            if mask.allSatisfy({ $0 == 0xff }) {
                parts.append("\(at) \(value)")
            } else {
                parts.append("\(at) & 0x\(PayloadMatch.hex(mask)) == \(value)")
            }
            i += n
        }
        return parts.joined(separator: " ")
    }

    /// Fields whose values stand for sets of header values: size classes, port bands, the
    /// fragment flags.
    static let valueSetFields: Set<RuleField> = [.sizeClass, .srcPortBand, .dstPortBand, .df, .mf]

    /// Ascending intervals as nftables text, adjacent ones merged: `lo-hi`, or an anonymous set
    /// `{ a-b, c-d }` when they do not join. `minus` shifts them down (clamped at 0).
    static func intervals(_ ranges: [ClosedRange<Int>], minus: Int) -> String {
        var merged: [ClosedRange<Int>] = []
        for r in ranges {
            if let last = merged.last, last.upperBound + 1 >= r.lowerBound {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        let text = merged.map { "\(max(0, $0.lowerBound - minus))-\($0.upperBound - minus)" }
        return text.count == 1 ? text[0] : "{ \(text.joined(separator: ", ")) }"
    }

    static func sanitize(_ s: String) -> String {
        String(s.filter { $0.isLetter || $0.isNumber || "-_. ".contains($0) }.prefix(64))
    }
}
