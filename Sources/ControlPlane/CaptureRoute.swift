import Dataplane
import Foundation
import Hummingbird
import Packets

/// `GET /api/capture?count=N&seconds=S[&interface=NAME]`: the live loop's next samples of a
/// filter (first 256 bytes of each packet, dropped ones too) as a pcap file, without taking
/// them from its detector (``SampleTap``). Packet contents are more than counters: asked with
/// the token, or from loopback without one, as a change is.
enum CaptureRoute {
    static let maxCount = 100_000
    static let maxSeconds = 60.0

    struct Asked {
        var count = 1_000
        var seconds = 10.0
        var interface: String?
    }

    static func parse(_ request: Hummingbird.Request) throws -> Asked {
        let q = request.uri.queryParameters
        var r = Asked(interface: q.get("interface"))
        if let c = q.get("count") {
            guard let v = Int(c), (1...maxCount).contains(v) else {
                throw Refusal(status: .badRequest, message: "count must be a whole number from 1 to \(maxCount), got '\(c)'")
            }
            r.count = v
        }
        if let s = q.get("seconds") {
            guard let v = Double(s), v > 0, v <= maxSeconds else {
                throw Refusal(status: .badRequest, message: "seconds must be a number above 0 and at most \(Int(maxSeconds)), got '\(s)'")
            }
            r.seconds = v
        }
        return r
    }

    /// The tap of the one filter asked for.
    static func tap(_ filters: FilterGroup, interface: String?) throws -> (name: String?, tap: SampleTap) {
        let chosen = try filters.chosen(interface)
        guard chosen.count == 1 else {
            throw Refusal(status: .badRequest, message: "this run protects \(chosen.compactMap(\.name).joined(separator: ", ")): say which with ?interface=NAME")
        }
        guard let tap = chosen[0].source.sampleTap else {
            throw Refusal(status: .notFound, message: "no live loop reads this filter's samples in this process: `holon capture` reads a filter no loop reads")
        }
        return (chosen[0].name, tap)
    }

    /// The samples as a pcap file (nanosecond stamps, Ethernet frames cut at 256 bytes).
    static func pcap(_ samples: [DataplaneSample]) throws -> Data {
        let path = NSTemporaryDirectory() + "holon-capture-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pcap"
        defer { unlink(path) }
        let writer = try PcapWriter(path: path)
        for s in samples { try writer.write(s.bytes, timestamp: s.timestamp, originalLength: Int(s.wireLength)) }
        try writer.close()
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}

extension ControlServer {
    static func addCaptureRoute(to router: Router<BasicRequestContext>, filters: FilterGroup, access: ControlAccess) {
        // HEAD must not capture: it would wait for samples no one reads.
        router.head("/api/capture") { request, _ in
            if let refusal = access.refusal(request) { return try error(refusal) }
            return Response(status: .ok, headers: [.contentType: "application/vnd.tcpdump.pcap"])
        }
        router.get("/api/capture") { request, _ in
            if let refusal = access.refusal(request) { return try error(refusal) }
            do {
                let asked = try CaptureRoute.parse(request)
                let (name, tap) = try CaptureRoute.tap(filters, interface: asked.interface)
                let since = UInt64(Date().timeIntervalSince1970 * 1e9)
                let samples = await tap.collect(count: asked.count, seconds: asked.seconds, since: since)
                let file = "holon-\(name ?? "capture")-\(since / 1_000_000_000).pcap"
                return Response(status: .ok, headers: [.contentType: "application/vnd.tcpdump.pcap",
                                                       .contentDisposition: "attachment; filename=\"\(file)\""],
                                body: .init(byteBuffer: ByteBuffer(data: try CaptureRoute.pcap(samples))))
            } catch let refusal as Refusal {
                return try error(refusal)
            }
        }
    }
}
