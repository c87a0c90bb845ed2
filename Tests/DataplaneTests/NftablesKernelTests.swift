import Dataplane
import Foundation
import Packets
import Rules
import TestSupport
import Testing

/// The exported ruleset in the kernel's nftables, on the lab's filter interface: every rule's
/// counter must equal what the reference matcher says of the same frames.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: namespaces, nftables"))
struct NftablesKernelTests {
    @Test func kernelCountsWhatTheReferenceMatcherSays() throws {
        let t = try TestLab("nft")
        defer { t.close() }
        let rules = try RuleFile.parse("""
            (rule (and (= proto udp) (= dst_port 9) (in src_ip 10.77.0.0/24)) (drop) :id 1 :priority 100)
            (rule (and (= proto udp) (range dst_port 10 19)) (count) :id 2 :priority 50)
            (rule (and (= proto udp) (= size_class small)) (pass) :id 3 :priority 10)
            """)
        let path = NSTemporaryDirectory() + "holon-nft-\(getpid()).nft"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try NftablesExport.ruleset(rules, table: "holontest", device: t.options.interface).write(toFile: path, atomically: true, encoding: .utf8)
        let ns = t.options.namespace!
        #expect(shell("ip netns exec \(ns) nft -f \(path)") == 0)

        var frames: [[UInt8]] = []
        for i in 0..<300 {
            let port: UInt16 = [9, 12, 40][i % 3]
            let source: UInt32 = i % 5 == 0 ? 0x0A4E_0001 : 0x0A4D_0001   // one in five from outside /24
            frames.append(Frames.udp(source: source, port: port, sequence: i, length: i % 2 == 0 ? 64 : 100))
        }
        let expected = try send(frames, through: t, against: rules)
        let counters = try nftCounters(namespace: ns, table: "holontest")
        #expect(counters[1] == expected[1] ?? 0, "drop rule: kernel \(counters[1] ?? -1), reference \(expected[1] ?? 0)")
        #expect(counters[2] == expected[2] ?? 0, "count rule")
        #expect(counters[3] == expected[3] ?? 0, "pass rule")
        #expect((expected[1] ?? 0) > 0 && (expected[2] ?? 0) > 0 && (expected[3] ?? 0) > 0)
    }

    /// A blocklist exported as one rule over a set drops what its rules drop, one by one, and a
    /// pass rule above it still passes its source.
    @Test func aBlocklistAsASetCountsWhatItsRulesWould() throws {
        let t = try TestLab("nfts")
        defer { t.close() }
        let ns = t.options.namespace!
        let path = NSTemporaryDirectory() + "holon-nft-s-\(getpid()).nft"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var rules = (0..<40).map { k in
            Rule(id: UInt32(100 + k), match: [.equals(.proto, 17), .equals(.dstPort, 9), .equals(.srcIP, UInt64(0x0A4E_0000 + k))],
                 action: .drop, priority: 50)
        }
        rules.append(Rule(id: 7, match: [.equals(.proto, 17), .equals(.srcIP, 0x0A4E_0005)], action: .pass, priority: 60))
        let text = try NftablesExport.ruleset(rules, table: "holontest", device: t.options.interface)
        #expect(text.contains("@rules_1") && text.components(separatedBy: "counter drop").count == 2, "the 40 drop rules are one")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(shell("ip netns exec \(ns) nft -f \(path)") == 0)
        let frames = (0..<300).map { i in Frames.udp(source: 0x0A4E_0000 + UInt32(i % 50), port: i % 4 == 0 ? 10 : 9, sequence: i, length: 64) }
        let expected = try send(frames, through: t, against: rules)
        let counters = try nftCounters(namespace: ns, table: "holontest")
        let dropped = (100..<140).reduce(0) { $0 + (expected[UInt32($1)] ?? 0) }
        #expect(dropped > 0 && (expected[7] ?? 0) > 0)
        #expect(counters[100] == dropped, "the set's rule: kernel \(counters[100] ?? -1), reference \(dropped)")
        #expect(counters[7] == expected[7], "the pass rule above it")
    }

    /// A field added to the table reaches the kernel: `tcp_urgent_ptr` rules (and ranges and masks
    /// of size classes and port bands) count what the reference matcher says, and every field the
    /// exporter names loads in nft (check mode).
    @Test func tcpUrgentPointerClassesBandsAndEveryExportedFieldLoad() throws {
        let t = try TestLab("nftu")
        defer { t.close() }
        let ns = t.options.namespace!
        let path = NSTemporaryDirectory() + "holon-nft-u-\(getpid()).nft"
        defer { try? FileManager.default.removeItem(atPath: path) }

        // One rule per field, alone and with each protocol that carries it (nft refuses a rule
        // naming two protocols, e.g. `proto udp` with a TCP field): nft must accept every one.
        func carries(_ proto: UInt64, _ field: RuleField) -> Bool {
            var f = PacketFeatures()
            f.proto = UInt8(proto)
            f.hasTransportHeader = true
            f.direction = .inbound
            return field != .proto && field.isPresent(in: f)
        }
        var all: [Rule] = []
        for field in RuleField.allCases {
            for proto: UInt64? in [nil, 6, 17, 1] where proto.map({ carries($0, field) }) ?? true {
                var r = Rule(id: UInt32(all.count + 1), match: [.equals(field, min(1, field.maxValue))], action: .count)
                if let proto { r.predicates.insert(.equals(.proto, proto), at: 0) }
                if (try? NftablesExport.ruleset([r])) != nil { all.append(r) }
            }
        }
        #expect(all.contains { $0.predicates.contains { $0.field == .tcpUrgentPtr } })
        try NftablesExport.ruleset(all, table: "holoncheck", device: t.options.interface).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(shell("ip netns exec \(ns) nft -c -f \(path)") == 0, "nft rejects an exported field")

        // Classes and bands as value sets: a range of them and a mask that selects two apart.
        let rules = try RuleFile.parse("""
            (rule (and (= proto tcp) (= tcp_urgent_ptr 7)) (count) :id 1 :priority 100)
            (rule (and (= proto tcp) (range tcp_urgent_ptr 100 200)) (drop) :id 2 :priority 50)
            (rule (and (= proto tcp) (range size_class 0 1) (range dst_port_band 1 2)) (count) :id 3 :priority 40)
            (rule (and (= proto tcp) (mask size_class 5 1)) (count) :id 4 :priority 30)
            """)
        try NftablesExport.ruleset(rules, table: "holontest", device: t.options.interface).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(shell("ip netns exec \(ns) nft -f \(path)") == 0)
        let frames = (0..<200).map { i -> [UInt8] in
            let urgent: UInt16 = [0, 7, 150, 300][i % 4]
            let port: UInt16 = [9, 2000, 50000][i % 3]
            let payload = [10, 100, 300][(i / 3) % 3]   // IP lengths 50, 140, 340: size classes 0, 2, 3
            let spec = PacketSpec(ethernet: .init(), network: .v4(PacketSpec.IPv4(source: 0x0A4D_0001, destination: 0x0A4D_0002)),
                                  transport: .tcp(source: UInt16(1024 + i), destination: port, flags: TCPFlags(rawValue: 0x10),
                                                  urgentPointer: urgent),
                                  payloadLength: payload)
            return PacketBuilder.bytes(spec)
        }
        let expected = try send(frames, through: t, against: rules)
        let counters = try nftCounters(namespace: ns, table: "holontest")
        #expect(expected[1] == 50 && expected[2] == 50 && (expected[3] ?? 0) > 0 && (expected[4] ?? 0) > 0)
        for id: UInt32 in 1...4 {
            #expect(counters[id] == expected[id] ?? 0, "rule \(id): kernel \(counters[id] ?? -1), reference \(expected[id] ?? 0)")
        }
    }

    /// Sends `frames` into the lab and waits for them; what the reference matcher says `rules`
    /// make of them, packets per rule id.
    func send(_ frames: [[UInt8]], through t: TestLab, against rules: [Rule]) throws -> [UInt32: Int] {
        t.sender.send(frames)
        _ = try t.settle(packets: UInt64(frames.count))
        var table = try RuleTable(rules)
        var expected: [UInt32: Int] = [:]
        for f in frames {
            let features = try f.withUnsafeBytes { try PacketParser.features($0) }
            if let id = table.classify(features).ruleID { expected[id, default: 0] += 1 }
        }
        return expected
    }

    func shell(_ command: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Packets per rule id, from the rules' counters and "holon ID" comments.
    func nftCounters(namespace: String, table: String) throws -> [UInt32: Int] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", namespace, "nft", "-j", "list", "table", "netdev", table]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        var counts: [UInt32: Int] = [:]
        for item in (root?["nftables"] as? [[String: Any]]) ?? [] {
            guard let rule = item["rule"] as? [String: Any], let comment = rule["comment"] as? String,
                  let id = comment.split(separator: " ").dropFirst().first.flatMap({ UInt32($0) }) else { continue }
            for e in (rule["expr"] as? [[String: Any]]) ?? [] {
                if let c = e["counter"] as? [String: Any], let n = c["packets"] as? Int { counts[id, default: 0] += n }
            }
        }
        return counts
    }
}
