@testable import Detection
import Holon
import Packets
import Testing
import Traffic
import TestSupport

/// Issue 11 §4: while armed, the baseline keeps adapting slowly to legitimate change — and never
/// learns an attack, whether its rules drop it or it is still being attributed.
@Suite(.ownThread) struct AdaptationTests {
    /// Normal traffic whose mix moves from `from` to `to` linearly over `ramp` seconds starting
    /// at `rampStart` (the same clients throughout: one network whose use changes).
    static func shifting(from: NormalProfile, to: NormalProfile, rate: Double, rampStart: Double, ramp: Double,
                         total: Double, epoch: UInt64, seed: UInt64) -> [PacketFeatures] {
        func stream(_ p: NormalProfile) -> [PacketFeatures] {
            Scenario(name: "mix", seed: seed, epoch: epoch, normal: p,
                     phases: [ScenarioPhase(name: "normal", duration: total, normalRate: rate)]).stream().map(\.features)
        }
        let a = stream(from), b = stream(to)
        var rng = Xoshiro256(seed: seed)
        func share(_ t: UInt64) -> Double {
            let s = Double(t - epoch) / 1e9
            return min(1, max(0, (s - rampStart) / ramp))
        }
        func keep(_ p: Double) -> Bool { Double(rng.next() >> 11) / Double(1 << 53) < p }
        var out: [PacketFeatures] = []
        out.reserveCapacity(a.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j >= b.count || (i < a.count && a[i].timestamp <= b[j].timestamp) {
                if keep(1 - share(a[i].timestamp)) { out.append(a[i]) }
                i += 1
            } else {
                if keep(share(b[j].timestamp)) { out.append(b[j]) }
                j += 1
            }
        }
        return out
    }

    /// Half-way to more name service and time, less web (a site whose resolvers got busy):
    /// at 500 pps this keeps a fixed baseline's drift at ~1.5× the open line.
    static let shifted: NormalProfile = {
        let a = Learned.lowRateProfile
        var p = a
        p.web = (a.web + 0.45) / 2
        p.dnsQueries = (a.dnsQueries + 0.18) / 2
        p.dnsResponses = (a.dnsResponses + 0.24) / 2
        p.ntp = (a.ntp + 0.08) / 2
        p.icmp = (a.icmp + 0.05) / 2
        return p
    }()

    struct Outcome {
        var announced = 0
        var crossings = 0
        /// Share of the last `tail` seconds' samples seen with the drift above the open line.
        var abnormalTail = 0.0
        var openAtEnd = false
        var learned = 0
        var finalDrift = 0.0
    }

    /// Time runs 30× faster than the default (half-life 10 s instead of 300 s) so that minutes
    /// of change fit a debug-build test; the mechanism is the same.
    func run(adapting: Bool, _ packets: [PacketFeatures], tail: Double) throws -> Outcome {
        var config = Learned.lowRateConfig
        config.adaptationHalfLife = adapting ? .seconds(10) : nil
        var d = try Detector(config: config, restoring: Learned.lowRate)
        _ = d.drainEvents()
        var out = Outcome()
        let tailStart = packets.last!.timestamp - UInt64(tail * 1e9)
        var above = 0, seen = 0
        for f in packets {
            d.ingest(f)
            out.announced += d.drainEvents().filter { $0.isOpened }.count
            if f.timestamp >= tailStart {
                seen += 1
                if d.lastDrift > d.openThreshold * d.noiseScale { above += 1 }
            }
        }
        out.crossings = d.unexplainedCrossings
        out.abnormalTail = Double(above) / Double(max(1, seen))
        out.openAtEnd = d.incidents.contains { $0.isOpen }
        out.learned = d.adaptationCounts.learned
        out.finalDrift = d.lastDrift / (d.openThreshold * d.noiseScale)
        return out
    }

    @Test func aSlowShiftOfTheMixIsLearned() throws {
        // 10 s as learned, a 90 s drift to the new mix (9 half-lives), 40 s of the new mix.
        let packets = Self.shifting(from: Learned.lowRateProfile, to: Self.shifted, rate: 500, rampStart: 10, ramp: 90,
                                    total: 140, epoch: Learned.later, seed: 33)
        let fixed = try run(adapting: false, packets, tail: 30)
        let adapting = try run(adapting: true, packets, tail: 30)
        func show(_ o: Outcome) -> String {
            "\(o.announced) incidents, \(o.crossings) unexplained crossings, drift above the open line in \(String(format: "%.0f", o.abnormalTail * 100))% of the last 30 s, incident open at the end: \(o.openAtEnd), final drift \(String(format: "%.2f", o.finalDrift)) × open line"
        }
        print("mix shift over 90 s, fixed baseline: \(show(fixed))")
        print("mix shift over 90 s, adapting (half-life 10 s): \(show(adapting)), \(adapting.learned) epochs learned")
        #expect(fixed.abnormalTail > 0.3, "the shift must matter for this test to mean anything")
        #expect(adapting.abnormalTail == 0)
        #expect(!adapting.openAtEnd)
        #expect(adapting.announced == 0)
    }

    @Test func anAttackIsNeverLearned() throws {
        var d = try Detector(config: DetectorConfig(), restoring: Learned.standard)
        let s = Scenario(name: "attack", seed: 34, epoch: Learned.later, phases: [
            ScenarioPhase(name: "normal", duration: 4, normalRate: 2_000),
            ScenarioPhase(name: "syn", duration: 4, normalRate: 2_000, attack: AttackSpec(kind: .synFlood, rate: 20_000)),
            ScenarioPhase(name: "low", duration: 4, normalRate: 2_000, attack: AttackSpec(kind: .udpFlood, rate: 3_000)),
            ScenarioPhase(name: "normal", duration: 8, normalRate: 2_000),
        ])
        let stream = Array(s.stream())
        let before = (reservoir: Set(d.baseline.reservoir), sources: Set(d.baseline.sources))
        var opened = 0
        for p in stream {
            d.ingest(p.features)
            opened += d.drainEvents().filter { $0.isOpened }.count
        }
        let attack = Set(stream.filter(\.isAttack).map(\.features))
        let attackSources = Set(attack.map(\.srcIP))
        let newPackets = Set(d.baseline.reservoir).subtracting(before.reservoir)
        let newSources = Set(d.baseline.sources).subtracting(before.sources)
        let (learned, discarded) = d.adaptationCounts
        print("attack then normal: \(opened) incidents, epochs learned \(learned), discarded \(discarded); reservoir +\(newPackets.count) packets, +\(newSources.count) sources")
        #expect(opened >= 2)
        #expect(learned >= 5, "normal traffic before and after is learned")
        #expect(!newPackets.isEmpty)
        #expect(newPackets.isDisjoint(with: attack), "\(newPackets.intersection(attack).count) attack packets in the reservoir")
        #expect(newSources.isDisjoint(with: attackSources), "\(newSources.intersection(attackSources).count) attack sources learned")
        // What adaptation learned is what the next save keeps.
        let saved = try DetectorSnapshot(decoding: try #require(d.snapshot()).encoded())
        #expect(saved.reservoir == d.baseline.reservoir && saved.sums == d.baseline.accumulator.sums)
        #expect(saved.sampleRate == d.baseline.sampleRate && saved.sources == Set(d.baseline.sources))
    }

    @Test func samplesTheFilterDroppedAreNeverLearned() throws {
        var d = try Detector(config: DetectorConfig(), restoring: Learned.standard)
        let s = Scenario(name: "dropped", seed: 35, epoch: Learned.later, phases: [
            ScenarioPhase(name: "normal", duration: 6, normalRate: 2_000),
        ])
        let before = Set(d.baseline.reservoir)
        for p in s.stream() { d.ingest(p.features, verdict: .dropped) }
        #expect(d.adaptationCounts.learned == 0)
        #expect(Set(d.baseline.reservoir) == before)
    }
}
