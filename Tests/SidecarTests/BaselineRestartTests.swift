import Dataplane
import Detection
import Foundation
import Packets
import Rules
import Sidecar
import TestSupport
import Testing
import Traffic

/// Issue 11 §4 through the loop (no root): a run that learned saves its baseline when it stops;
/// the next run restores it and catches an attack in its first second, with no warmup; a
/// damaged file is reported and the run learns anew.
@Suite("Sidecar baseline across restarts (no root)", .ownThread)
struct BaselineRestartTests {
    let epoch: UInt64 = 1_800_000_000_000_000_000

    /// Runs a sidecar over `phases` on a reference filter; returns its events and when the
    /// first attack packet was sent and first dropped (packet time).
    func run(_ phases: [ScenarioPhase], start: UInt64, config: SidecarConfig) throws -> (events: [SidecarEvent], attackStart: UInt64?, firstDrop: UInt64?) {
        let filter = ReferenceFilter(startingAt: start)
        var stream = Scenario(name: "r", seed: 21, phases: phases).stream(epoch: start)
        var next = stream.next()
        var done = false
        var attackStart: UInt64?, firstDrop: UInt64?
        filter.onPoll = { f in
            guard let first = next else { done = true; return }
            let end = max(f.now(), first.features.timestamp) + 20_000_000
            while let p = next, p.features.timestamp <= end {
                let v = f.send(PacketSynthesis.bytes(for: p.features), at: p.features.timestamp)
                if p.isAttack {
                    if attackStart == nil { attackStart = p.features.timestamp }
                    if firstDrop == nil && (v == .drop || v == .rateLimited) { firstDrop = p.features.timestamp }
                }
                next = stream.next()
            }
            f.advance(to: end)
        }
        var events: [SidecarEvent] = []
        try Sidecar(dataplane: filter, config: config).run(until: { done }) { events.append($0) }
        return (events, attackStart, firstDrop)
    }

    func notices(_ events: [SidecarEvent]) -> [String] {
        events.compactMap { if case .notice(let k, _) = $0 { k } else { nil } }
    }

    @Test func aRestartDetectsFromTheFirstSecond() throws {
        let dir = NSTemporaryDirectory() + "holon-baseline-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(5)
        config.baselinePath = dir + "/holon/baseline.bin"

        let first = try run([ScenarioPhase(name: "normal", duration: 12, normalRate: 2_000)], start: epoch, config: config)
        #expect(notices(first.events).contains("baseline-saved"))
        #expect(FileManager.default.fileExists(atPath: config.baselinePath!))

        // Later (the packets' clock has moved on 10 minutes): the attack starts 0.3 s in.
        let later = epoch + 600_000_000_000
        let second = try run([
            ScenarioPhase(name: "normal", duration: 0.3, normalRate: 2_000),
            ScenarioPhase(name: "attack", duration: 2, normalRate: 2_000,
                          attack: AttackSpec(kind: .udpFlood, rate: 30_000, victim: IPPrefix("198.51.100.10")!)),
        ], start: later, config: config)
        #expect(notices(second.events).first == "baseline-restored", "\(second.events.map(\.text).prefix(3))")
        let reaction = (second.firstDrop ?? .max) &- (second.attackStart ?? 0)
        #expect(reaction < 1_000_000_000, "the attack dropped \(Double(reaction) / 1e6) ms after it began, no warmup")
    }

    /// A baseline directory that cannot be made (here, under a file) is said when the run
    /// starts, before it learns anything: it was said only at the first save a minute later, or
    /// at stop, when what was learned was already lost for the next start. The probe leaves
    /// nothing behind where the directory is fine.
    @Test func aBaselineThatCannotBeSavedIsSaidAtTheStart() throws {
        let dir = NSTemporaryDirectory() + "holon-baseline-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("a file".utf8).write(to: URL(fileURLWithPath: dir + "/blocker"))
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(5)
        config.baselinePath = dir + "/blocker/holon:eth0/baseline.bin"
        let r = try run([ScenarioPhase(name: "normal", duration: 8, normalRate: 2_000)], start: epoch, config: config)
        let first = r.events.first { if case .notice = $0 { true } else if case .calibrated = $0 { true } else { false } }
        guard case .notice("baseline-save-failed", let message)? = first else {
            Issue.record("the first word of the run: \(first.map(\.text) ?? "none")")
            return
        }
        #expect(message.contains(dir + "/blocker") && !message.contains("\n"), "\(message)")

        config.baselinePath = dir + "/fine/baseline.bin"
        let fine = try run([ScenarioPhase(name: "normal", duration: 1, normalRate: 2_000)], start: epoch, config: config)
        #expect(!notices(fine.events).contains("baseline-save-failed"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/fine").isEmpty, "no probe left (and nothing learned to save)")
    }

    @Test func aDamagedBaselineIsReportedAndRelearned() throws {
        let dir = NSTemporaryDirectory() + "holon-baseline-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(5)
        config.baselinePath = dir + "/baseline.bin"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("HOLNBASE but not really a baseline".utf8).write(to: URL(fileURLWithPath: config.baselinePath!))
        let r = try run([ScenarioPhase(name: "normal", duration: 8, normalRate: 2_000)], start: epoch, config: config)
        let ignored = r.events.compactMap { e -> String? in if case .notice("baseline-ignored", let m) = e { m } else { nil } }
        #expect(ignored.count == 1 && !ignored[0].contains("\n"), "\(ignored)")
        #expect(r.events.contains { if case .calibrated = $0 { true } else { false } }, "learned anew")
        #expect(notices(r.events).contains("baseline-saved"), "and saved over the damaged file")
    }
}
