import Packets

/// Writes a scenario (or its first packets) to a pcap file, Ethernet framing, nanosecond
/// timestamps.
public enum ScenarioPcap {
    /// Writes up to `limit` packets (all when nil); returns how many were written.
    @discardableResult
    public static func write(_ scenario: Scenario, to path: String, limit: Int? = nil,
                             epoch: UInt64? = nil) throws(CaptureError) -> Int {
        let writer = try PcapWriter(path: path, linkType: .ethernet, nanosecondTimestamps: true)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 16)
        defer { buffer.deallocate() }
        var stream = ScenarioStream(scenario, epoch: epoch)
        var n = 0
        let max = limit ?? Int.max
        while n < max, let p = stream.next() {
            guard let layout = PacketSynthesis.build(p.features, into: buffer) else { continue }
            try writer.write(UnsafeRawBufferPointer(rebasing: buffer[0..<layout.length]), timestamp: p.features.timestamp)
            n += 1
        }
        try writer.close()
        return n
    }
}
