import Foundation
import Holon
import Testing

/// The README's quick start, kept compiling and true.
@Suite struct QuickStartTests {
    struct Flow: Walkable {
        var proto: Int, srcPort: Int, rate: Double
        static let fProto = FieldName("proto"), fSrc = FieldName("src_port"), fRate = FieldName("rate")
        func walk<V: WalkVisitor>(into v: inout V) {
            v.visit(Self.fProto, proto)
            v.visit(Self.fSrc, srcPort)
            v.visit(Self.fRate, scalar: rate, .log)
        }
    }

    @Test func readmeQuickStart() throws {
        let space = VectorSpace(dimension: 4096, seed: 42)
        let proto = space.atom("proto"), udp = space.atom(17)
        let pair = Hypervector.bind(proto, udp)
        #expect(Similarity.cosine(Hypervector.unbind(pair, proto), udp) == 1.0)

        var encoder = VectorEncoder(space: space)
        let v = encoder.encode(Flow(proto: 17, srcPort: 53, rate: 5000))
        let j = try encoder.encode(json: #"{"proto": 17, "src_port": 53, "rate": {"$log": 5000}}"#.data(using: .utf8)!)
        #expect(v == j)

        var recent = Accumulator(dimension: 4096)
        recent.add(v)
        recent.decay(to: 1_000_000_000, halfLife: .seconds(2))
        let presence = recent.presence(field: FieldName("src_port"), value: .int(53), in: space)
        #expect(abs(presence - 0.5) < 0.05)

        let decoded = space.scalarEncoder.decode(space.scalarEncoder.encode(5000, .log), .log)
        #expect(abs(decoded - 5000) / 5000 < 0.01)

        var sources = HyperLogLog()
        sources.insert(0x0A00_0001)
        #expect(sources.count == 1)
    }
}
