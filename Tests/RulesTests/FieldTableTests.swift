import CHolonFields
import Foundation
import Holon
import Packets
import Rules
import Testing

/// Every Swift list of fields against the field table (Sources/CHolonFields/include/holon_fields.h):
/// a field added to, removed from or renumbered in the table, or bound to the wrong row, fails here
/// without root (the XDP side is held to the same table by the reference cross-check).
@Suite struct FieldTableTests {
    @Test func everyFieldIsOneRowOfTheTable() {
        #expect(RuleField.allCases.count == Int(HOLON_F_RULE_FIELDS))
        for (index, field) in RuleField.allCases.enumerated() {
            // Declared in id order, ids dense, and each case bound to the row of its own name
            // (`srcIP` to "src_ip"): a case bound to another row's id fails on the name.
            #expect(field.id == UInt32(index), "\(field)")
            #expect(RuleField(id: field.id) == field)
            let cName = String(cString: holon_field_name(field.id))
            #expect(field.rawValue == cName)
            #expect("\(field)".lowercased() == cName.replacingOccurrences(of: "_", with: ""), "\(field) is bound to \(cName)")
            #expect(RuleField(rawValue: cName) == field)
            #expect(field.maxValue == holon_field_max(field.id))
        }
        #expect(RuleField(id: UInt32(HOLON_F_RULE_FIELDS)) == nil)
        // The raw address views follow the rule fields and all slots fit the 32-bit present mask.
        #expect(HOLON_F_SRC_V4.rawValue == UInt32(HOLON_F_RULE_FIELDS))
        #expect(HOLON_F_COUNT.rawValue <= UInt32(HOLON_F_SLOTS))
    }

    @Test func jsonAndTextNameFieldsByTheTable() throws {
        for field in RuleField.allCases {
            let data = try JSONEncoder().encode([field])
            #expect(String(decoding: data, as: UTF8.self) == "[\"\(field.name)\"]")
            #expect(try JSONDecoder().decode([RuleField].self, from: data) == [field])
            let rule = try RuleFile.parse("(rule (= \(field.name) \(field.format(min(1, field.maxValue)))) (drop) :id 1)")
            #expect(rule.first?.predicates == [.equals(field, min(1, field.maxValue))])
        }
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode([RuleField].self, from: Data("[\"nope\"]".utf8)) }
    }

    /// Packets the parser makes from real frames of every transport, plus a direction.
    static func parsedPackets() throws -> [PacketFeatures] {
        let transports: [PacketSpec.Transport] = [
            .udp(source: 53, destination: 65535),
            .tcp(source: 1023, destination: 49152, flags: TCPFlags(rawValue: 0xFF), window: 65535, urgentPointer: 65535),
            .icmp(type: 255, code: 255),
            .none(proto: 47),
        ]
        var out: [PacketFeatures] = []
        for transport in transports {
            for network: PacketSpec.Network in [
                .v4(PacketSpec.IPv4(source: 0xFFFF_FFFF, destination: 0x0A00_0001)),
                .v6(PacketSpec.IPv6(source: IPAddress("2001:db8::1")!, destination: IPAddress("ffff::ffff")!)),
            ] {
                let spec = PacketSpec(ethernet: .init(), network: network, transport: transport, payloadLength: 1600)
                var f = try PacketBuilder.bytes(spec).withUnsafeBytes { try PacketParser.features($0) }
                f.direction = .outbound
                out.append(f)
            }
        }
        return out
    }

    @Test func maxValuesFitTheParserAndTheStorage() throws {
        for f in try Self.parsedPackets() {
            for field in RuleField.allCases where !field.isAddress {
                if let v = field.value(in: f) { #expect(v <= field.maxValue, "\(field) = \(v) from the parser") }
            }
        }
        // Every value the table allows is representable in PacketFeatures: all-ones storage reads
        // at least the table's max (addresses are IPAddress values, not widths).
        for proto in [IPProtocol.tcp, IPProtocol.icmp] {
            var f = PacketFeatures()
            f.proto = proto
            f.hasTransportHeader = true
            (f.srcPort, f.dstPort, f.tcpWindow, f.tcpUrgentPtr, f.fragOffset) = (.max, .max, .max, .max, .max)
            (f.tcpFlags, f.ttl, f.dscp, f.ecn, f.icmpType, f.icmpCode) = (.max, .max, .max, .max, .max, .max)
            (f.ipID, f.ipLen, f.payloadLen, f.df, f.mf, f.direction) = (.max, .max, .max, true, true, .outbound)
            for field in RuleField.allCases where !field.isAddress && field != .proto {
                if let v = field.value(in: f) { #expect(v >= field.maxValue, "\(field) storage narrower than the table") }
            }
        }
    }

    @Test func bandsPartitionTheirRangeAsTheTableSays() {
        #expect(SizeClass.allCases.count == Int(HOLON_SIZE_CLASSES))
        #expect(PortBand.allCases.count == Int(HOLON_PORT_BANDS))
        #expect(RuleField.sizeClass.maxValue == UInt64(SizeClass.allCases.count - 1))
        #expect(RuleField.srcPortBand.maxValue == UInt64(PortBand.allCases.count - 1))
        var next = 0
        for c in SizeClass.allCases {
            #expect(c.ipLengths.lowerBound == next)
            for len in [c.ipLengths.lowerBound, c.ipLengths.upperBound] { #expect(SizeClass(ipLength: UInt32(len)) == c) }
            next = c.ipLengths.upperBound + 1
        }
        #expect(next == 65536)
        var port = 0
        for b in PortBand.allCases {
            #expect(Int(b.ports.lowerBound) == port)
            for p in [b.ports.lowerBound, b.ports.upperBound] { #expect(PortBand(port: p) == b) }
            port = Int(b.ports.upperBound) + 1
        }
        #expect(port == 65536)
        #expect(PortBand(port: UInt16(HOLON_PORT_REGISTERED - 1)) == .wellKnown && PortBand(port: UInt16(HOLON_PORT_REGISTERED)) == .registered)
    }

    /// Records what a walk visits.
    struct Recorder: WalkVisitor {
        var visits: [(String, Int)] = []
        mutating func visit(_ f: FieldName, _ v: Int) { visits.append((f.name, v)) }
        mutating func visit(_ f: FieldName, _ v: String) { Issue.record("string \(f)") }
        mutating func visit(_ f: FieldName, _ v: Bool) { Issue.record("bool \(f)") }
        mutating func visit(_ f: FieldName, _ v: Double) { Issue.record("double \(f)") }
        mutating func visit(_ f: FieldName, scalar v: Double, _ e: ScalarEncoding) { Issue.record("scalar \(f)") }
        mutating func visit<W: Walkable>(_ f: FieldName, record: W) { Issue.record("record \(f)") }
        mutating func visitList<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) { Issue.record("list \(f)") }
        mutating func visitSet<W: Walkable>(_ f: FieldName, _ items: some Collection<W>) { Issue.record("set \(f)") }
        mutating func visitList(_ f: FieldName, scalars items: some Collection<ScalarValue>) { Issue.record("list \(f)") }
        mutating func visitSet(_ f: FieldName, scalars items: some Collection<ScalarValue>) { Issue.record("set \(f)") }
    }

    @Test func theWalkIsTheTable() throws {
        var g = RandomRules(seed: 12)
        for f in try Self.parsedPackets() + (0..<500).map({ _ in g.packet() }) {
            var r = Recorder()
            f.walk(into: &r)
            let expected = PacketField.walkOrder.compactMap { field in
                field.value(in: f).map { (field.name, Int(truncatingIfNeeded: $0)) }
            }
            #expect(r.visits.map(\.0) == expected.map(\.0))
            #expect(r.visits.map(\.1) == expected.map(\.1))
            for (name, v) in r.visits { #expect(f.value(of: name) == v) }
        }
        // Encoded vectors depend on the walk's names: the fields before the table keep the order
        // they were walked in by hand (new fields join their carrier's group).
        let before = ["proto", "src_ip", "dst_ip", "ttl", "df", "mf", "frag_offset", "ip_id", "ip_len", "dscp", "ecn",
                      "payload_len", "size_class", "src_port", "dst_port", "src_port_band", "dst_port_band",
                      "tcp_flags", "tcp_window", "icmp_type", "icmp_code", "direction"]
        #expect(PacketField.walkOrder.map(\.name).filter(before.contains) == before)
        #expect(Set(PacketField.walkOrder) == Set(PacketField.allCases))
    }

    /// Fields nftables has no match for; every other field must export.
    static let notInNftables: Set<RuleField> = [.payloadLen, .direction]

    @Test func nftablesExportsEveryFieldOrSaysWhichItCannot() throws {
        for field in RuleField.allCases {
            let value = min(1, field.maxValue)
            for proto: UInt64? in [nil, 6, 17, 1] {
                var match: [Rules.Predicate] = [.equals(field, value)]
                if let proto, field != .proto { match.insert(.equals(.proto, proto), at: 0) }
                let rules = [Rule(id: 7, match: match, action: .drop)]
                if Self.notInNftables.contains(field) {
                    #expect(throws: NftablesExportError.self) { try NftablesExport.ruleset(rules) }
                    do { _ = try NftablesExport.ruleset(rules) } catch { #expect(error.reason == field.name && error.ruleID == 7) }
                } else {
                    let text = try NftablesExport.ruleset(rules)
                    #expect(text.contains("counter drop comment \"holon 7\""), "\(field)")
                }
            }
        }
    }
}
