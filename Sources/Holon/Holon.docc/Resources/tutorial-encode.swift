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
