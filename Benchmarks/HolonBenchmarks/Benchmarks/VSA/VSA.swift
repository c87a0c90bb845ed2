import Benchmark
import Foundation
import Holon

// The kernels of `holon bench vsa`, under package-benchmark so each run also counts heap
// allocations (`mallocCountTotal`, from the malloc interposer). Every benchmark runs 1,000 calls
// per iteration (`scalingFactor: .kilo`) and the allocation count is per iteration, so a 0 there
// is 0 per call. Set-up (vectors, encoders, outputs) happens before `startMeasurement()`.
// The closure runs once per iteration, so an encoder made in it starts with an empty pair
// cache: each encode benchmark first encodes the whole pool once, as a long-running encoder
// would have (measured without that: ≈ 0.3 allocations per call, one per cache miss).

/// The 5-field packet record `holon bench vsa` encodes.
struct Packet: Walkable {
    var proto: Int, srcPort: Int, dstPort: Int, tcpFlags: Int, payloadLen: Int

    static let fProto = FieldName("proto"), fSrc = FieldName("src_port"), fDst = FieldName("dst_port")
    static let fFlags = FieldName("tcp_flags"), fLen = FieldName("payload_len")

    func walk<V: WalkVisitor>(into visitor: inout V) {
        visitor.visit(Self.fProto, proto)
        visitor.visit(Self.fSrc, srcPort)
        visitor.visit(Self.fDst, dstPort)
        visitor.visit(Self.fFlags, tcpFlags)
        visitor.visit(Self.fLen, payloadLen)
    }

    var json: Data {
        Data(#"{"proto":\#(proto),"src_port":\#(srcPort),"dst_port":\#(dstPort),"tcp_flags":\#(tcpFlags),"payload_len":\#(payloadLen)}"#.utf8)
    }

    /// Fields that repeat as real traffic's do (a few protocols, a few hundred ports and
    /// sizes), so the encoder's pair cache sees realistic hit rates.
    static func pool(_ n: Int) -> [Packet] {
        var rng = Xoshiro256(seed: 7)
        let protos = [6, 6, 6, 17, 17, 1]
        return (0..<n).map { _ in
            let proto = protos[Int(rng.next() % UInt64(protos.count))]
            return Packet(proto: proto, srcPort: 1024 + Int(rng.next() % 200),
                          dstPort: [80, 443, 53, 123, 22, 8080][Int(rng.next() % 6)],
                          tcpFlags: proto == 6 ? [0x02, 0x10, 0x18, 0x11][Int(rng.next() % 4)] : 0,
                          payloadLen: Int(rng.next() % 100) * 14)
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 1_000
    )

    let d = 4096
    let space = VectorSpace(dimension: d, seed: 42)
    let packets = Packet.pool(1024)
    let json = packets.map(\.json)
    let atoms = (0..<64).map { space.atom("bench.atom.\($0)") }
    let ten = Array(atoms[0..<10])

    Benchmark("encode.walkable.5fields.d4096") { benchmark in
        var encoder = VectorEncoder(space: space)
        var out = Hypervector(dimension: d)
        for p in packets { encoder.encode(p, into: &out) }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { encoder.encode(packets[i & 1023], into: &out) }
        blackHole(out)
    }
    Benchmark("encode.walkable.5fields.d4096.returning") { benchmark in
        // The returning form: one new vector per call, for comparison with `into:`.
        var encoder = VectorEncoder(space: space)
        for p in packets { blackHole(encoder.encode(p)) }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { blackHole(encoder.encode(packets[i & 1023])) }
    }
    Benchmark("encode.json.5fields.d4096") { benchmark in
        var encoder = VectorEncoder(space: space)
        var out = Hypervector(dimension: d)
        for j in json { try! encoder.encode(json: j, into: &out) }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { try! encoder.encode(json: json[i & 1023], into: &out) }
        blackHole(out)
    }
    Benchmark("bind.d4096") { benchmark in
        var out = Hypervector(dimension: d)
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { Hypervector.bind(atoms[i & 63], atoms[(i + 7) & 63], into: &out) }
        blackHole(out)
    }
    Benchmark("bind.inplace.d4096") { benchmark in
        var x = atoms[0]
        x.formBind(atoms[1])   // x now owns its planes: the loop below never copies them
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { x.formBind(atoms[(i + 7) & 63]) }
        blackHole(x)
    }
    Benchmark("bind.d4096.returning") { benchmark in
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { blackHole(Hypervector.bind(atoms[i & 63], atoms[(i + 7) & 63])) }
    }
    Benchmark("bundle.10.d4096") { benchmark in
        var out = Hypervector(dimension: d)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { Hypervector.bundle(ten, into: &out) }
        blackHole(out)
    }
    Benchmark("similarity.cosine.d4096") { benchmark in
        var s = 0.0
        for i in benchmark.scaledIterations { s += Similarity.cosine(atoms[i & 63], atoms[(i + 1) & 63]) }
        blackHole(s)
    }
    Benchmark("accumulator.stream.d4096") { benchmark in
        // A stream's window: add, decay, compare with a baseline, ask for a value. Long enough
        // that the lanes are rescaled (every ~40 halvings) inside the measurement.
        var window = Accumulator(dimension: d), baseline = Accumulator(dimension: d)
        for a in atoms { baseline.add(a) }
        let norm = baseline.norm
        var s = 0.0
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            window.add(atoms[i & 63])
            window.decay(by: 0.5)
            s += window.cosine(baseline, otherNorm: norm) + window.presence(of: atoms[(i + 1) & 63])
        }
        blackHole(s)
    }
}
