import ArgumentParser
import Foundation
import Holon

struct BenchVSA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vsa",
        abstract: "Time the Holon VSA kernels at d = 4096."
    )

    @OptionGroup var options: BenchOptions

    func run() {
        options.run(vsaBenchmarks())
    }
}

/// The 5-field packet record of the VSA benchmarks.
struct BenchPacket: Walkable, Codable {
    var proto: Int
    var src_port: Int
    var dst_port: Int
    var tcp_flags: Int
    var payload_len: Int

    static let fProto = FieldName("proto"), fSrc = FieldName("src_port"), fDst = FieldName("dst_port")
    static let fFlags = FieldName("tcp_flags"), fLen = FieldName("payload_len")

    func walk<V: WalkVisitor>(into visitor: inout V) {
        visitor.visit(Self.fProto, proto)
        visitor.visit(Self.fSrc, src_port)
        visitor.visit(Self.fDst, dst_port)
        visitor.visit(Self.fFlags, tcp_flags)
        visitor.visit(Self.fLen, payload_len)
    }

    /// A pool of packets whose fields repeat as real traffic's do (a few protocols, a few hundred
    /// ports and sizes), so the encoder's pair cache sees realistic hit rates.
    static func pool(_ n: Int, seed: UInt64 = 7) -> [BenchPacket] {
        var rng = Xoshiro256(seed: seed)
        let protos = [6, 6, 6, 17, 17, 1]
        return (0..<n).map { _ in
            let proto = protos[Int(rng.next() % UInt64(protos.count))]
            return BenchPacket(
                proto: proto,
                src_port: 1024 + Int(rng.next() % 200),
                dst_port: [80, 443, 53, 123, 22, 8080][Int(rng.next() % 6)],
                tcp_flags: proto == 6 ? [0x02, 0x10, 0x18, 0x11][Int(rng.next() % 4)] : 0,
                payload_len: Int(rng.next() % 100) * 14)
        }
    }
}

func vsaBenchmarks() -> [Benchmark] {
    let d = 4096
    let space = VectorSpace(dimension: d, seed: 42)
    let packets = BenchPacket.pool(1024)
    let mask = packets.count - 1
    let jsonPackets = packets.map { try! JSONEncoder().encode($0) }
    let atoms = (0..<64).map { space.atom("bench.atom.\($0)") }
    let scalars = space.scalarEncoder
    let rates = (0..<1024).map { i in pow(10, -1 + 10 * Double(i) / 1024) }
    var results: [Benchmark] = []

    results.append(Benchmark("encode.walkable.5fields.d4096") { n in
        var enc = VectorEncoder(space: space)
        var out = Hypervector(dimension: d)
        for i in 0..<n { enc.encode(packets[i & mask], into: &out) }
        blackHole(out)
    })
    results.append(Benchmark("encode.json.5fields.d4096") { n in
        // The one-pass walker over the UTF-8 bytes (VectorEncoder.encode(json:)).
        var enc = VectorEncoder(space: space)
        var out = Hypervector(dimension: d)
        for i in 0..<n { try! enc.encode(json: jsonPackets[i & mask], into: &out) }
        blackHole(out)
    })
    results.append(Benchmark("encode.json.foundation.5fields.d4096") { n in
        // The same records through JSONSerialization and JSONRecord, for comparison.
        var enc = VectorEncoder(space: space)
        var out = Hypervector(dimension: d)
        for i in 0..<n { enc.encode(try! JSONRecord(data: jsonPackets[i & mask]), into: &out) }
        blackHole(out)
    })
    results.append(Benchmark("similarity.cosine.d4096") { n in
        var s = 0.0
        for i in 0..<n { s += Similarity.cosine(atoms[i & 63], atoms[(i + 1) & 63]) }
        blackHole(s)
    })
    results.append(Benchmark("bind.d4096") { n in
        var out = Hypervector(dimension: d)
        for i in 0..<n { Hypervector.bind(atoms[i & 63], atoms[(i + 7) & 63], into: &out) }
        blackHole(out)
    })
    results.append(Benchmark("bind.inplace.d4096") { n in
        // formBind: the output is the first input (the kernel must not fall back to words).
        var x = atoms[0]
        for i in 0..<n { x.formBind(atoms[(i + 7) & 63]) }
        blackHole(x)
    })
    results.append(Benchmark("bundle.10.d4096") { n in
        var out = Hypervector(dimension: d)
        let ten = Array(atoms[0..<10])
        for _ in 0..<n { Hypervector.bundle(ten, into: &out) }
        blackHole(out)
    })
    results.append(Benchmark("permute.d4096") { n in
        var x = atoms[0]
        for i in 0..<n { x = atoms[i & 63].permuted(by: 1 + i & 7) }
        blackHole(x)
    })
    results.append(Benchmark("atom.cached.d4096") { n in
        var x = atoms[0]
        for i in 0..<n { x = space.atom(i & 63) }
        blackHole(x)
    })
    results.append(Benchmark("scalar.log.encode.d4096") { n in
        var out = Hypervector(dimension: d)
        for i in 0..<n { scalars.encode(rates[i & 1023], .log, into: &out) }
        blackHole(out)
    })
    let encodedRates = (0..<16).map { scalars.encode(rates[$0 * 64], .log) }
    results.append(Benchmark("scalar.log.decode.d4096") { n in
        var s = 0.0
        for i in 0..<n { s += scalars.decode(encodedRates[i & 15], .log) }
        blackHole(s)
    })
    results.append(Benchmark("accumulator.add.d4096") { n in
        var acc = Accumulator(dimension: d)
        for i in 0..<n { acc.add(atoms[i & 63]) }
        blackHole(acc)
    })
    results.append(Benchmark("accumulator.add.batched.d4096") { n in
        // The same sums through a LaneCounter, as the detector adds packet vectors.
        var acc = Accumulator(dimension: d)
        var counter = LaneCounter(dimension: d)
        for i in 0..<n {
            counter.add(atoms[i & 63])
            if counter.isFull { counter.flush(into: &acc) }
        }
        counter.flush(into: &acc)
        blackHole(acc)
    })
    results.append(Benchmark("accumulator.presence.d4096") { n in
        var acc = Accumulator(dimension: d)
        for i in 0..<64 { acc.add(atoms[i]) }
        var s = 0.0
        for i in 0..<n { s += acc.presence(of: atoms[i & 63]) }
        blackHole(s)
    })
    results.append(Benchmark("accumulator.decay.d4096") { n in
        // A window's decay per tick, as the detector's (every 10 ms), with a vector added every
        // 256 ticks (so the sums stay in Float's normal range whatever the build).
        var acc = Accumulator(dimension: d)
        for i in 0..<64 { acc.add(atoms[i]) }
        for i in 0..<n {
            acc.decay(by: 0.97)
            if i & 255 == 0 { acc.add(atoms[(i >> 8) & 63]) }
        }
        blackHole(acc)
    })
    results.append(Benchmark("accumulator.cosine.d4096") { n in
        // Two accumulators' cosine: the detector's drift reading, once a tick.
        var a = Accumulator(dimension: d), b = Accumulator(dimension: d)
        for i in 0..<64 { a.add(atoms[i]); b.add(atoms[(i * 7) & 63], weight: Double(1 + i % 3)) }
        let nb = b.norm
        var s = 0.0
        for _ in 0..<n { s += a.cosine(b, otherNorm: nb) }
        blackHole(s)
    })
    results.append(Benchmark("hll.insert.p14") { n in
        var hll = HyperLogLog()
        for i in 0..<n { hll.insert(hash: StableHash.hash(UInt64(i))) }
        blackHole(hll)
    })
    return results
}
