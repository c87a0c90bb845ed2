import Foundation
import Holon

// The tutorial of the README, as a program that checks its own claims: encode records, query
// an accumulator, detect drift, store and recall engrams. Exits 1 when a claim does not hold.
nonisolated(unsafe) var failures = 0
func check(_ ok: Bool, _ what: String) {
    print((ok ? "ok    " : "FAIL  ") + what)
    if !ok { failures += 1 }
}

// 1. Encode records: a type walks its fields; JSON with the same data gives the same vector.
let space = VectorSpace(dimension: 4096, seed: 42)
struct Flow: Walkable {
    var proto: Int, dstPort: Int, rate: Double
    static let fProto = FieldName("proto"), fPort = FieldName("dst_port"), fRate = FieldName("rate")
    func walk<V: WalkVisitor>(into v: inout V) {
        v.visit(Self.fProto, proto)
        v.visit(Self.fPort, dstPort)
        v.visit(Self.fRate, scalar: rate, .log)
    }
}
var encoder = VectorEncoder(space: space)
let web = encoder.encode(Flow(proto: 6, dstPort: 443, rate: 300))
let json = try encoder.encode(json: #"{"proto": 6, "dst_port": 443, "rate": {"$log": 300}}"#)
check(web == json, "a record and its JSON encode to the same vector")

// 2. Query an accumulator: which values are present, and how much.
var normal = Accumulator(dimension: 4096)
for i in 0..<900 { normal.add(encoder.encode(Flow(proto: 6, dstPort: i % 3 == 0 ? 80 : 443, rate: 300))) }
for _ in 0..<100 { normal.add(encoder.encode(Flow(proto: 17, dstPort: 53, rate: 50))) }
let https = normal.presence(field: FieldName("dst_port"), value: .int(443), in: space)
let dns = normal.presence(field: FieldName("dst_port"), value: .int(53), in: space)
check(https > 4 * dns && dns > 0.02, String(format: "presence: port 443 %.2f, port 53 %.2f (600 vs 100 of 1000 records)", https, dns))

// 3. Detect drift: the same traffic stays close to the baseline; a flood moves away from it.
var same = Accumulator(dimension: 4096), flood = Accumulator(dimension: 4096)
for i in 0..<300 { same.add(encoder.encode(Flow(proto: 6, dstPort: i % 3 == 0 ? 80 : 443, rate: 300))) }
for i in 0..<90 { same.add(encoder.encode(Flow(proto: 17, dstPort: 53, rate: 50 + Double(i % 3)))) }
flood = same
for _ in 0..<2000 { flood.add(encoder.encode(Flow(proto: 17, dstPort: 123, rate: 90_000))) }
let calm = 1 - same.cosine(normal), stormy = 1 - flood.cosine(normal)
check(stormy > 10 * calm, String(format: "drift: %.4f for normal traffic, %.4f under a flood", calm, stormy))

// 4. Store and recall engrams: learn a subspace per traffic kind, recall which one a probe fits.
func subspace(_ make: (Int) -> Flow) -> OnlineSubspace {
    var s = OnlineSubspace(dimension: 256, rank: 4)
    let small = VectorSpace(dimension: 256, seed: 7)
    var e = VectorEncoder(space: small)
    for i in 0..<400 { s.update(e.encode(make(i))) }
    return s
}
var library = EngramLibrary()
library.store("web", subspace: subspace { Flow(proto: 6, dstPort: $0 % 2 == 0 ? 80 : 443, rate: Double(200 + $0 % 50)) })
library.store("ntp-flood", subspace: subspace { Flow(proto: 17, dstPort: 123, rate: Double(80_000 + ($0 * 37) % 20_000)) })
var probeEncoder = VectorEncoder(space: VectorSpace(dimension: 256, seed: 7))
let probe = probeEncoder.encode(Flow(proto: 17, dstPort: 123, rate: 88_000)).values.map(Double.init)
let best = library.match(probe).first
check(best?.name == "ntp-flood", "recall: a new NTP flood probe matches the ntp-flood engram (\(best.map { String(format: "%@, surprise %.2f", $0.name, $0.surprise) } ?? "none"))")

let webProbe = probeEncoder.encode(Flow(proto: 6, dstPort: 443, rate: 230)).values.map(Double.init)
check(library.match(webProbe).first?.name == "web", "recall: a web probe matches the web engram")

exit(failures == 0 ? 0 : 1)
