import Holon

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
print(web == json)   // true

var normal = Accumulator(dimension: 4096)
for i in 0..<900 { normal.add(encoder.encode(Flow(proto: 6, dstPort: i % 3 == 0 ? 80 : 443, rate: 300))) }
for _ in 0..<100 { normal.add(encoder.encode(Flow(proto: 17, dstPort: 53, rate: 50))) }

let https = normal.presence(field: FieldName("dst_port"), value: .int(443), in: space)
let dns = normal.presence(field: FieldName("dst_port"), value: .int(53), in: space)
print(https, dns)   // 443 several times 53: 600 against 100 of 1,000 records

var window = Accumulator(dimension: 4096)
for i in 0..<300 { window.add(encoder.encode(Flow(proto: 6, dstPort: i % 3 == 0 ? 80 : 443, rate: 300))) }
for i in 0..<90 { window.add(encoder.encode(Flow(proto: 17, dstPort: 53, rate: 50 + Double(i % 3)))) }
let calm = 1 - window.cosine(normal)

var flood = window
for _ in 0..<2000 { flood.add(encoder.encode(Flow(proto: 17, dstPort: 123, rate: 90_000))) }
let stormy = 1 - flood.cosine(normal)
print(calm, stormy)   // the flood drifts more than ten times further

func learn(_ make: (Int) -> Flow) -> OnlineSubspace {
    var s = OnlineSubspace(dimension: 256, rank: 4)
    var e = VectorEncoder(space: VectorSpace(dimension: 256, seed: 7))
    for i in 0..<400 { s.update(e.encode(make(i))) }
    return s
}

var library = EngramLibrary()
library.store("web", subspace: learn { Flow(proto: 6, dstPort: $0 % 2 == 0 ? 80 : 443, rate: Double(200 + $0 % 50)) })
library.store("ntp-flood", subspace: learn { Flow(proto: 17, dstPort: 123, rate: Double(80_000 + ($0 * 37) % 20_000)) })
