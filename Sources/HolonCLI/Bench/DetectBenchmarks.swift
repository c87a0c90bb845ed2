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
func detectBenchmarks() -> [Benchmark] {
    var config = DetectorConfig()
    config.warmup = .seconds(20)
    var warm = Detector(config: config)
    var stream = Scenario.default.stream()
    var normal: [(bytes: [UInt8], ts: UInt64)] = []
    var attack: [(bytes: [UInt8], ts: UInt64)] = []
    let warmEnd = Scenario.default.epoch + 20_000_000_000
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
    func bench(_ name: String, _ frames: [(bytes: [UInt8], ts: UInt64)]) -> Benchmark {
        let n = frames.count
        let span = frames.last!.ts - frames.first!.ts + 1
        return Benchmark(name) { iterations in
            var d = warm
            var lap: UInt64 = 0
            for i in 0..<iterations {
                let k = i % n
                if k == 0 && i > 0 { lap += span }
                frames[k].bytes.withUnsafeBytes { raw in
                    if let f = try? PacketParser.features(raw, timestamp: frames[k].ts + lap) { d.ingest(f) }
                }
            }
            blackHole(d.samples)
        }
    }
    return [bench("detect.packet", normal), bench("detect.attack.packet", attack)]
}
