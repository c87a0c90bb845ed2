import Foundation
@testable import Packets

/// A fresh directory under the system temp dir, removed by the caller if it cares.
func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("holon-packets-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs a tool and returns its stdout and stderr; nil if it is not installed.
func run(_ tool: String, _ arguments: [String]) -> (out: String, err: String, status: Int32)? {
    let candidates = ["/usr/bin/\(tool)", "/usr/sbin/\(tool)", "/usr/local/bin/\(tool)"]
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try! p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), p.terminationStatus)
}

func parse(_ bytes: [UInt8], linkType: LinkType = .ethernet, wireLength: Int? = nil) throws(PacketParseError) -> PacketFeatures {
    let result: Result<PacketFeatures, PacketParseError> = bytes.withUnsafeBytes { b in
        do throws(PacketParseError) {
            return .success(try PacketParser.features(b, linkType: linkType, wireLength: wireLength))
        } catch { return .failure(error) }
    }
    return try result.get()
}

func parseError(_ bytes: [UInt8], linkType: LinkType = .ethernet, wireLength: Int? = nil) -> PacketParseError? {
    do { _ = try parse(bytes, linkType: linkType, wireLength: wireLength); return nil } catch { return error }
}

func ip4(_ s: String) -> UInt32 {
    guard case .v4(let a)? = IPAddress(s) else { fatalError("bad address \(s)") }
    return a
}

/// A handful of packets covering every layer, used by the tool cross-checks.
func samplePackets() -> [(spec: PacketSpec, payload: [UInt8])] {
    var udp = PacketSpec.udp4(source: ip4("10.0.0.1"), destination: ip4("192.0.2.7"), sourcePort: 5353, destinationPort: 53, frameLength: 64)
    if case .v4(var v4) = udp.network { v4.ttl = 17; v4.identification = 0x1234; v4.dontFragment = true; v4.dscp = 46; v4.ecn = 1; udp.network = .v4(v4) }

    var tcpV4 = PacketSpec.IPv4(source: ip4("172.16.5.4"), destination: ip4("10.9.8.7"))
    tcpV4.options = [0x94, 0x04, 0x00, 0x00]  // router alert
    tcpV4.ttl = 250
    let tcp = PacketSpec(ethernet: .init(vlans: [100]), network: .v4(tcpV4),
                         transport: .tcp(source: 44321, destination: 443, flags: [.syn, .ece, .cwr], window: 29200, sequence: 7),
                         payloadLength: 11)

    let icmp = PacketSpec(ethernet: .init(vlans: [10, 20]),
                          network: .v4(.init(source: ip4("198.51.100.1"), destination: ip4("198.51.100.2"))),
                          transport: .icmp(type: 8, code: 0, rest: 0x0001_0002), payloadLength: 32)

    var v6 = PacketSpec.IPv6(source: IPAddress("2001:db8::1")!, destination: IPAddress("2001:db8:0:1::53")!)
    v6.extensions = [IPProtocol.hopByHop, IPProtocol.destinationOptions]
    v6.hopLimit = 33
    v6.trafficClass = 0xB8
    let udp6 = PacketSpec(network: .v6(v6), transport: .udp(source: 40000, destination: 53), payloadLength: 0)
    let dns: [UInt8] = [0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                        3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1]

    let icmp6 = PacketSpec(network: .v6(.init(source: IPAddress("fe80::1")!, destination: IPAddress("ff02::1")!)),
                           transport: .icmp(type: 128, code: 0, rest: 0x0042_0001), payloadLength: 8)
    let tcp6 = PacketSpec(network: .v6(.init(source: IPAddress("2001:db8::a")!, destination: IPAddress("2001:db8::b")!)),
                          transport: .tcp(source: 80, destination: 50000, flags: [.ack, .psh, .fin], window: 512), payloadLength: 100)
    return [(udp, []), (tcp, []), (icmp, []), (udp6, dns), (icmp6, []), (tcp6, [])]
}

func writeCapture(_ frames: [[UInt8]], to path: String, linkType: LinkType = .ethernet, nanoseconds: Bool = true,
                  bigEndian: Bool = false, start: UInt64 = 1_700_000_000_123_456_789) throws {
    let w = try PcapWriter(path: path, linkType: linkType, nanosecondTimestamps: nanoseconds, bigEndian: bigEndian)
    for (i, f) in frames.enumerated() {
        try w.write(f, timestamp: start + UInt64(i) * 1_000_001)
    }
    try w.close()
}

func readAll(_ path: String, bufferSize: Int = 1 << 20) throws -> [(PacketFeatures?, CapturedPacketCopy)] {
    let r = try CaptureReader(path: path, bufferSize: bufferSize)
    var out: [(PacketFeatures?, CapturedPacketCopy)] = []
    while let p = try r.next() {
        out.append((try? p.features(), CapturedPacketCopy(p)))
    }
    return out
}

struct CapturedPacketCopy: Equatable {
    var timestamp: UInt64
    var originalLength: Int
    var linkType: LinkType
    var bytes: [UInt8]
    init(_ p: CapturedPacket) {
        timestamp = p.timestamp
        originalLength = p.originalLength
        linkType = p.linkType
        bytes = Array(p.bytes)
    }
}
