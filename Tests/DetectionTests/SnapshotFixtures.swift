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

    /// A detector that learned 11 s of normal traffic sampled 1 in 4 and then met one pulse of
    /// an NTP reflection (2 s) and 2 s of quiet: its memory holds the pulse's attack (format 3).
    static let pulseConfig: DetectorConfig = {
        var c = DetectorConfig()
        c.samplingRate = 4
        return c
    }()
    static let pulse = AttackSpec(kind: .ntpAmplification, rate: 40_000, sources: .reflectors(1500))
    static let pulsed: DetectorSnapshot = {
        let s = Scenario(name: "pulsed", seed: 43, phases: [
            ScenarioPhase(name: "baseline", duration: 11, normalRate: 2_000),
            ScenarioPhase(name: "pulse", duration: 2, normalRate: 2_000, attack: pulse),
            ScenarioPhase(name: "pause", duration: 2, normalRate: 2_000),
        ])
        var d = Detector(config: pulseConfig)
        for (n, p) in s.stream().enumerated() where n % 4 == 0 { d.ingest(p.features) }
        precondition(d.incidents.count == 1 && !d.incidents[0].isOpen, "the fixture must close one incident: \(d.incidents.count)")
        return d.snapshot(savedAt: Date(timeIntervalSince1970: 1_800_000_000))!
    }()

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
