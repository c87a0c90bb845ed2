import Foundation
import Testing
import Holon

struct Flow: Walkable, Codable {
    var proto: Int
    var src_port: Int
    var dst_port: Int
    var tcp_flags: Int
    var payload_len: Int

    static let f = (FieldName("proto"), FieldName("src_port"), FieldName("dst_port"), FieldName("tcp_flags"), FieldName("payload_len"))

    func walk<V: WalkVisitor>(into v: inout V) {
        v.visit(Self.f.0, proto)
        v.visit(Self.f.1, src_port)
        v.visit(Self.f.2, dst_port)
        v.visit(Self.f.3, tcp_flags)
        v.visit(Self.f.4, payload_len)
    }
}

struct Host: Walkable {
    var name: String
    var up: Bool
    var load: Double
    var rate: Double
    var hour: Double
    var flows: [Flow]
    var tags: [String]
    var peers: Set<Int>
    var primary: Flow

    func walk<V: WalkVisitor>(into v: inout V) {
        v.visit(FieldName("name"), name)
        v.visit(FieldName("up"), up)
        v.visit(FieldName("load"), load)
        v.visit(FieldName("rate"), scalar: rate, .log)
        v.visit(FieldName("hour"), scalar: hour, .circular(period: 24))
        v.visitList(FieldName("flows"), flows)
        v.visitList(FieldName("tags"), scalars: tags.map { .string($0) })
        v.visitSet(FieldName("peers"), scalars: peers.sorted().map { .int($0) })
        v.visit(FieldName("primary"), record: primary)
    }
}

@Suite struct EncoderTests {
    let space = VectorSpace(dimension: 4096, seed: 42)

    @Test func walkableAndJSONGiveIdenticalVectors() throws {
        var enc = VectorEncoder(space: space)
        let flow = Flow(proto: 17, src_port: 53, dst_port: 40000, tcp_flags: 0, payload_len: 512)
        let json = #"{"proto": 17, "src_port": 53, "dst_port": 40000, "tcp_flags": 0, "payload_len": 512}"#
        #expect(enc.encode(flow) == (try enc.encode(json: Data(json.utf8))))
        #expect(enc.encode(flow) == enc.encode(try JSONRecord(codable: flow)))
    }

    @Test func nestedListsSetsAndScalarsMatchJSON() throws {
        var enc = VectorEncoder(space: space)
        let a = Flow(proto: 6, src_port: 1234, dst_port: 80, tcp_flags: 2, payload_len: 0)
        let b = Flow(proto: 17, src_port: 53, dst_port: 999, tcp_flags: 0, payload_len: 80)
        let host = Host(name: "edge-1", up: true, load: 0.25, rate: 5000, hour: 23.5, flows: [a, b],
                        tags: ["dns", "web"], peers: [3, 1, 2], primary: a)
        let json = """
        {"name": "edge-1", "up": true, "load": 0.25, "rate": {"$log": 5000}, "hour": {"$circular": 23.5, "period": 24},
         "flows": [\(String(decoding: try JSONEncoder().encode(a), as: UTF8.self)), \(String(decoding: try JSONEncoder().encode(b), as: UTF8.self))],
         "tags": ["dns", "web"], "peers": {"$set": [2, 3, 1]},
         "primary": {"proto": 6, "src_port": 1234, "dst_port": 80, "tcp_flags": 2, "payload_len": 0}}
        """
        #expect(enc.encode(host) == (try enc.encode(json: Data(json.utf8))))
    }

    @Test func fieldOrderDoesNotMatterButListOrderDoes() throws {
        var enc = VectorEncoder(space: space)
        let x = try enc.encode(json: Data(#"{"a": 1, "b": "x", "c": [1, 2, 3]}"#.utf8))
        let y = try enc.encode(json: Data(#"{"c": [1, 2, 3], "b": "x", "a": 1}"#.utf8))
        let z = try enc.encode(json: Data(#"{"c": [3, 2, 1], "b": "x", "a": 1}"#.utf8))
        #expect(x == y)
        #expect(x != z)
    }

    @Test func similarRecordsGiveSimilarVectors() {
        var enc = VectorEncoder(space: space)
        let a = enc.encode(Flow(proto: 6, src_port: 1234, dst_port: 80, tcp_flags: 2, payload_len: 0))
        let oneFieldChanged = enc.encode(Flow(proto: 6, src_port: 1235, dst_port: 80, tcp_flags: 2, payload_len: 0))
        let allChanged = enc.encode(Flow(proto: 17, src_port: 53, dst_port: 9, tcp_flags: 0, payload_len: 7))
        #expect(Similarity.cosine(a, oneFieldChanged) > 0.5)
        #expect(abs(Similarity.cosine(a, allChanged)) < 0.1)
    }

    @Test func fieldValuesCanBeQueriedBack() {
        var enc = VectorEncoder(space: space)
        let v = enc.encode(Flow(proto: 17, src_port: 53, dst_port: 40000, tcp_flags: 0, payload_len: 512))
        let fillers = [6, 17, 1].map { ($0, Similarity.cosine(Hypervector.unbind(v, space.atom("proto")), space.atom($0))) }
        #expect(fillers.max { $0.1 < $1.1 }!.0 == 17)
    }

    @Test func encoderCacheDoesNotChangeResults() {
        var cached = VectorEncoder(space: space, pairCacheSlots: 16)
        let flows = (0..<300).map { Flow(proto: $0 % 3, src_port: $0, dst_port: 80, tcp_flags: 0, payload_len: $0 % 7) }
        for f in flows + flows {
            var fresh = VectorEncoder(space: VectorSpace(dimension: 4096, seed: 42))
            #expect(cached.encode(f) == fresh.encode(f))
        }
    }

    @Test func badJSONIsReportedWithItsPath() {
        var enc = VectorEncoder(space: space)
        #expect(throws: JSONEncodingError.notAnObject(path: "$")) { try enc.encode(json: Data("[1, 2]".utf8)) }
        #expect(throws: JSONEncodingError.unsupported(path: "$.a.b[1]", what: "mixed or nested array (a list holds either objects or plain values)")) {
            try enc.encode(json: Data(#"{"a": {"b": [1, [2]]}}"#.utf8))
        }
        #expect(throws: JSONEncodingError.unsupported(path: "$.r", what: "$log needs 0 < lower < upper")) {
            try enc.encode(json: Data(#"{"r": {"$log": 5, "lower": 0}}"#.utf8))
        }
        do {
            _ = try enc.encode(json: Data("{\"a\": ".utf8))
            Issue.record("truncated JSON must throw")
        } catch let e as JSONEncodingError {
            // The one-pass encoder reports syntax errors with the byte where they were found.
            if case .syntax(offset: 6, _) = e {} else { Issue.record("wrong error \(e)") }
        } catch { Issue.record("wrong error type \(error)") }
    }
}
