import Foundation

/// A flow specification in the words of the BGP speakers Holon drives.
extension FlowspecRule {
    static let tcpFlagLetters: [(UInt64, Character)] = [(0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"),
                                                        (0x10, "A"), (0x20, "U"), (0x40, "E"), (0x80, "C")]
    static let fragmentNames: [(UInt64, String)] = [(FragmentBit.dontFragment, "dont-fragment"), (FragmentBit.isFragment, "is-fragment"),
                                                    (FragmentBit.firstFragment, "first-fragment"), (FragmentBit.lastFragment, "last-fragment")]

    /// `&` joins an ANDed operator, a space an ORed one.
    static func joined(_ parts: [(and: Bool, text: String)]) -> String {
        parts.enumerated().map { i, p in (i == 0 ? "" : p.and ? "&" : " ") + p.text }.joined()
    }

    static func bitmaskText(_ t: FlowspecType, _ op: BitmaskOp) -> String {
        let names: String
        if t == .tcpFlags {
            names = String(tcpFlagLetters.filter { op.value & $0.0 != 0 }.map(\.1))
        } else {
            names = fragmentNames.filter { op.value & $0.0 != 0 }.map(\.1).joined(separator: "+")
        }
        return (op.not ? "!" : "") + (op.match ? "=" : "") + names
    }

    /// Each component as keyword and value, GoBGP's CLI grammar (`gobgp global rib add match …`).
    public var gobgpMatch: [String] {
        components.flatMap { c -> [String] in
            switch c {
            case .prefix(let t, let p): return family == .ipv6 ? [t.keyword, p.description, "0"] : [t.keyword, p.description]
            case .numeric(let t, let ops): return [t.keyword, Self.joined(ops.map { ($0.and, $0.text) })]
            case .bitmask(let t, let ops): return [t.keyword, Self.joined(ops.map { ($0.and, Self.bitmaskText(t, $0)) })]
            }
        }
    }

    var gobgpThen: [String] {
        guard case .trafficRate(let rate) = action, rate > 0 else { return ["discard"] }
        return ["rate-limit", String(format: "%.0f", rate)]
    }

    /// The `gobgp` arguments that announce this rule into the speaker's global RIB.
    public var gobgpAnnounce: [String] { ["global", "rib", "-a", "\(family.rawValue)-flowspec", "add", "match"] + gobgpMatch + ["then"] + gobgpThen }
    /// … and that withdraw it.
    public var gobgpWithdraw: [String] { ["global", "rib", "-a", "\(family.rawValue)-flowspec", "del", "match"] + gobgpMatch }

    /// ExaBGP's API command (`announce flow route { match { … } then { … } }`), or nil when a
    /// bitmask operator cannot be said in ExaBGP's one-flag-per-operator grammar.
    public var exabgpAnnounce: String? { exabgpBody.map { "announce flow route " + $0 } }
    public var exabgpWithdraw: String? { exabgpBody.map { "withdraw flow route " + $0 } }

    static let exabgpFlagWords: [UInt64: String] = [0x01: "fin", 0x02: "syn", 0x04: "rst", 0x08: "push",
                                                    0x10: "ack", 0x20: "urgent", 0x40: "ece", 0x80: "cwr"]

    /// ExaBGP names one flag per operator: "all of these set" becomes one `=flag` per flag and
    /// "none of these set" one `!flag` per flag, ANDed — the same test, bit by bit.
    static func exabgpBitmask(_ t: FlowspecType, _ ops: [BitmaskOp]) -> String? {
        var parts: [(and: Bool, text: String)] = []
        for op in ops {
            let bits = (0..<16).map { UInt64(1) << UInt64($0) }.filter { op.value & $0 != 0 }
            guard bits.count == 1 || op.match != op.not else { return nil }   // "any of" / "not all of" do not split into an AND
            for (i, bit) in bits.enumerated() {
                let word = t == .tcpFlags ? exabgpFlagWords[bit] : fragmentNames.first { $0.0 == bit }?.1
                guard let word else { return nil }
                parts.append((i == 0 ? op.and : true, (op.not ? "!" : "") + (op.match ? "=" : "") + word))
            }
        }
        return "[ " + joined(parts) + " ]"
    }

    var exabgpBody: String? {
        var match: [String] = []
        for c in components {
            switch c {
            case .prefix(let t, let p): match.append("\(t.keyword) \(p)\(family == .ipv6 ? "/0" : "");")
            case .numeric(let t, let ops):
                let word = t == .ipProtocol && family == .ipv6 ? "next-header" : t.keyword
                // ExaBGP writes = for GoBGP's ==.
                match.append("\(word) \(Self.joined(ops.map { ($0.and, $0.text.replacingOccurrences(of: "==", with: "=")) }));")
            case .bitmask(let t, let ops):
                guard let text = Self.exabgpBitmask(t, ops) else { return nil }
                match.append("\(t.keyword) \(text);")
            }
        }
        let then: String
        if case .trafficRate(let rate) = action, rate > 0 { then = String(format: "rate-limit %.0f;", rate) } else { then = "discard;" }
        return "{ match { \(match.joined(separator: " ")) } then { \(then) } }"
    }
}
