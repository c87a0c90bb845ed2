import Foundation
import Packets
import Rules
import Testing

/// Byte predicates: text, JSON, the reference matcher's edges, nftables, validation.
@Suite("byte predicates")
struct PayloadPredicateTests {
    /// A UDP packet whose payload is `bytes` (all captured into the head, up to its capacity).
    func udp(_ bytes: [UInt8], payloadLen: Int? = nil) -> PacketFeatures {
        var f = packet(proto: 17, sport: 40000, dport: 9)
        f.payload = PayloadHead(bytes)
        f.payloadLen = UInt32(payloadLen ?? bytes.count)
        return f
    }

    @Test func textRoundTripsWithAndWithoutAMask() throws {
        for text in [
            #"(rule (and (= proto udp) (bytes payload 0 "1337c0de7a110bad5eedf00d")) (drop) :id 7)"#,
            #"(rule (bytes payload 255 "ab") (count))"#,
            #"(rule (bytes payload 3 "1200" :mask "ff0f") (drop))"#,
        ] {
            let r = try Rule(parsing: text)
            #expect(r.text == text)
            #expect(try Rule(parsing: r.text) == r)
            let json = try JSONEncoder().encode(r)
            #expect(try JSONDecoder().decode(Rule.self, from: json) == r)
        }
        let upper = try Rule(parsing: #"(rule (bytes payload 0 "ABCD") (drop))"#)
        #expect(upper.text == #"(rule (bytes payload 0 "abcd") (drop))"#)
    }

    @Test func jsonForm() throws {
        let r = try Rule(parsing: #"(rule (bytes payload 2 "1200" :mask "ff00") (drop) :id 1)"#)
        let s = String(decoding: try JSONEncoder().encode(r.predicates[0]), as: UTF8.self)
        #expect(s.contains(#""anchor":"payload""#) && s.contains(#""offset":2"#) && s.contains(#""bytes":"1200""#) && s.contains(#""mask":"ff00""#))
        #expect(!s.contains("field"))
    }

    @Test(arguments: [
        (#"(rule (bytes l4 0 "ab") (drop))"#, "the anchor \"payload\""),
        (#"(rule (bytes payload 257 "ab") (drop))"#, "a payload offset 0…256"),
        (#"(rule (bytes payload -1 "ab") (drop))"#, "a payload offset 0…256"),
        (#"(rule (bytes payload 0 "abc") (drop))"#, "the bytes as a hex string"),
        (#"(rule (bytes payload 0 abcd) (drop))"#, "the bytes as a hex string"),
        (#"(rule (bytes payload 0 "") (drop))"#, "the bytes as a hex string"),
        (#"(rule (bytes payload 0 "abcd" :mask "ff") (drop))"#, "a mask of 2 bytes"),
        (#"(rule (bytes payload 0 "abcd" :mask "0fff") (drop))"#, "a mask covering every set bit"),
        (#"(rule (bytes payload 0 "ab" :mast "ff") (drop))"#, "\")\" or :mask"),
    ])
    func badTextSaysWhatWasExpected(_ text: String, _ expected: String) {
        do {
            _ = try Rule(parsing: text)
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.expected.contains(expected), "\(error)")
        }
    }

    @Test func sixtyFiveBytesAreRefused() {
        let hex = String(repeating: "ab", count: 65)
        #expect(throws: RuleParseError.self) { try Rule(parsing: "(rule (bytes payload 0 \"\(hex)\") (drop))") }
        let sixtyFour = String(repeating: "ab", count: 64)
        #expect(throws: Never.self) { try Rule(parsing: "(rule (bytes payload 0 \"\(sixtyFour)\") (drop))") }
        #expect(throws: RuleValidationError.self) { try Predicate.bytes(PayloadMatch(offset: 0, value: [])).validate() }
        #expect(throws: RuleValidationError.self) { try Predicate.bytes(PayloadMatch(offset: 0, value: [0x12], mask: [0x0f])).validate() }
    }

    @Test func referenceMatcherAtTheEdges() throws {
        let marker: [UInt8] = [0x13, 0x37, 0xc0, 0xde]
        let p = PayloadMatch(offset: 0, value: marker)
        #expect(p.matches(udp(marker + [1, 2, 3])))
        #expect(p.matches(udp(marker)))                       // ends exactly at the payload's end
        #expect(!p.matches(udp(Array(marker.prefix(3)))))     // one byte short
        #expect(!p.matches(udp([0x13, 0x37, 0xc0, 0xdf])))
        // A zero mask still needs the bytes to be there.
        let any = PayloadMatch(offset: 2, value: [0, 0], mask: [0, 0])
        #expect(any.matches(udp([9, 9, 9, 9])) && !any.matches(udp([9, 9, 9])))
        // Partial masks compare only the masked bits.
        let nibble = PayloadMatch(offset: 1, value: [0x20], mask: [0xf0])
        #expect(nibble.matches(udp([0, 0x2f])) && !nibble.matches(udp([0, 0x3f])))
        // No transport header (a later fragment): never.
        var frag = udp(marker)
        frag.hasTransportHeader = false
        #expect(!p.matches(frag))
        // Past the head: features cannot see it, the raw payload can.
        var long = [UInt8](repeating: 0, count: 300)
        long[255] = 0xab
        let far = PayloadMatch(offset: 255, value: [0xab])
        let f = udp(long)
        #expect(f.payload.count == PayloadHead.capacity)
        #expect(!far.matches(f))
        #expect(long.withUnsafeBytes { far.matches(payload: $0) })
        #expect(long.withUnsafeBytes { Predicate.bytes(far).matches(f, payload: $0) })
        #expect(!long.withUnsafeBytes { Predicate.bytes(PayloadMatch(offset: 256, value: Array(repeating: 0, count: 45))).matches(f, payload: $0) })
    }

    @Test func ruleTableAgreesWithThePredicates() throws {
        var rng = SeededRNG(seed: 17)
        let markers: [[UInt8]] = [[1, 2, 3, 4], [1, 2, 3, 5], [9]]
        let rules = try (0..<40).map { i -> Rule in
            let m = markers[i % markers.count]
            let off = Int(rng.next() % 4)
            return try Rule(parsing: "(rule (and (= proto udp) (bytes payload \(off) \"\(PayloadMatch.hex(m))\")) (drop) :id \(i) :priority \(i % 5))")
        }
        let table = try RuleTable(rules)
        for _ in 0..<2000 {
            let n = Int(rng.next() % 10)
            let bytes = (0..<n).map { _ in UInt8([1, 2, 3, 4, 5, 9][Int(rng.next() % 6)]) }
            let f = udp(bytes)
            let expected = rules.filter { $0.matches(f) }
                .min { a, b in a.priority != b.priority ? a.priority > b.priority : a.id < b.id }
            #expect(table.matchingRule(for: f)?.id == expected?.id)
        }
    }

    @Test func nftablesReadsTheInnerHeaderSixteenBytesAtATime() throws {
        let hex = (0..<20).map { String(format: "%02x", $0 + 1) }.joined()
        let r = try Rule(parsing: "(rule (and (= proto udp) (bytes payload 4 \"\(hex)\")) (drop) :id 1)")
        let line = try NftablesExport.ruleset([r]).split(separator: "\n").first { $0.contains("holon 1") }!
        #expect(line.contains("@ih,32,128 0x0102030405060708090a0b0c0d0e0f10 @ih,160,32 0x11121314"))
        let masked = try Rule(parsing: #"(rule (and (= proto tcp) (bytes payload 0 "1200" :mask "ff00")) (drop) :id 2)"#)
        #expect(try NftablesExport.ruleset([masked]).contains("@ih,0,16 & 0xff00 == 0x1200"))
        let bare = try Rule(parsing: #"(rule (bytes payload 0 "12") (drop) :id 3)"#)
        #expect(throws: NftablesExportError.self) { try NftablesExport.ruleset([bare]) }
    }
}
