import ArgumentParser
import Detection
import Packets
import Traffic

struct BenchDetect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Packets per second through parsing, features, encoding and detection on one core."
    )

    @OptionGroup var options: BenchOptions

    func run() {
        options.run(detectBenchmarks())
    }
}

/// The default scenario as wire frames. The detector is warmed on 20 s of its baseline; each
/// timed packet is then parsed from bytes and ingested — the sidecar's per-sample work.
/// `detect.packets_per_second` times normal traffic (the last 10 s of the baseline), where every
/// packet is encoded and accumulated: the detector's most expensive steady state.
/// `detect.attack.packet` times the traffic after it (attacks and their rules).
/// `detect.payload.*` do the same on the payload-marker scenario: normal QUIC, RTP and DNS with
/// real payload heads, then a flood only its payload marker tells apart, so attribution encodes
/// payloads and derives the byte rule inside the timed loop.
func detectBenchmarks() -> [Benchmark] {
    detectBenchmarks(.default, prefix: "detect") + detectBenchmarks(.payloadMarker, prefix: "detect.payload")
}

private func detectBenchmarks(_ scenario: Scenario, prefix: String) -> [Benchmark] {
    var config = DetectorConfig()
    config.warmup = .seconds(20)
    var warm = Detector(config: config)
    var stream = scenario.stream()
    var normal: [(bytes: [UInt8], ts: UInt64)] = []
    var attack: [(bytes: [UInt8], ts: UInt64)] = []
    let warmEnd = scenario.epoch + 20_000_000_000
    while let p = stream.next() {
        if p.phase == 0 && p.features.timestamp < warmEnd {
            warm.ingest(p.features)
        } else if p.phase == 0 {
            normal.append((PacketSynthesis.bytes(for: p.features), p.features.timestamp))
        } else if attack.count < 65_536 {
            attack.append((PacketSynthesis.bytes(for: p.features), p.features.timestamp))
        } else {
            break
        }
    }
    /// One detector per benchmark, fed on: the frames loop with timestamps moved forward by a
    /// lap each time round, so traffic time keeps advancing as it would live.
    final class Feed {
        var detector: Detector
        var next = 0
        var lap: UInt64 = 0
        init(_ d: Detector) { detector = d }
    }
    func bench(_ name: String, _ frames: [(bytes: [UInt8], ts: UInt64)]) -> Benchmark {
        let n = frames.count
        let span = frames.last!.ts - frames.first!.ts + 1
        let feed = Feed(warm)
        return Benchmark(name) { iterations in
            for _ in 0..<iterations {
                let k = feed.next
                frames[k].bytes.withUnsafeBytes { raw in
                    if let f = try? PacketParser.features(raw, timestamp: frames[k].ts + feed.lap) { feed.detector.ingest(f) }
                }
                feed.next += 1
                if feed.next == n { feed.next = 0; feed.lap += span }
            }
            blackHole(feed.detector.samples)
        }
    }
    return [bench("\(prefix).packet", normal), bench("\(prefix).attack.packet", attack)]
}
