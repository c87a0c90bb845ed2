@testable import Detection
import Packets
import Traffic

/// Detectors learned once and shared by the snapshot tests (debug builds are slow).
enum Learned {
    /// One hour after the default epoch: the traffic a restarted detector sees.
    static let later = Scenario.defaultEpoch + 3_600_000_000_000

    /// The default detector warmed up on 11 s of normal traffic at 2,000 pps.
    static let standard: DetectorSnapshot = snapshot(config: DetectorConfig(), seed: 30, rate: 2_000, profile: NormalProfile())

    /// A small detector (d = 1024, 256 reservoir packets, 200 clients): a ~20 KB file that the
    /// byte-by-byte corruption tests can walk.
    static let smallConfig: DetectorConfig = {
        var c = DetectorConfig()
        c.dimension = 1024
        c.reservoirCapacity = 256
        return c
    }()
    static let small: DetectorSnapshot = {
        var p = NormalProfile()
        p.clients = 200
        return snapshot(config: smallConfig, seed: 40, rate: 500, profile: p)
    }()

    /// A detector warmed up at 500 pps (long runs stay affordable in a debug build).
    static let lowRateConfig = DetectorConfig()
    static let lowRateProfile = NormalProfile()
    static let lowRate: DetectorSnapshot = snapshot(config: lowRateConfig, seed: 36, rate: 500, profile: lowRateProfile)

    static func warmedUp(config: DetectorConfig, seed: UInt64, rate: Double, profile: NormalProfile) -> Detector {
        let s = Scenario(name: "learn", seed: seed, normal: profile,
                         phases: [ScenarioPhase(name: "normal", duration: 11, normalRate: rate)])
        var d = Detector(config: config)
        for p in s.stream() { d.ingest(p.features) }
        precondition(d.isWarmedUp, "the fixture must warm up")
        return d
    }

    static func snapshot(config: DetectorConfig, seed: UInt64, rate: Double, profile: NormalProfile) -> DetectorSnapshot {
        warmedUp(config: config, seed: seed, rate: rate, profile: profile).snapshot(savedAt: Date(timeIntervalSince1970: 1_800_000_000))!
    }
}

import Foundation

extension DetectorEvent {
    var isOpened: Bool { if case .opened = self { true } else { false } }
}
