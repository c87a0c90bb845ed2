@testable import Detection
import Holon
import Packets
import Testing
import Traffic
import TestSupport

/// Issue 11 §4: a detector restored from a saved baseline is armed from its first sample — no
/// blind warmup in which an attack would be learned as normal — and its first ticks, with an
/// almost empty recent accumulator, do not read as drift.
@Suite(.ownThread) struct RestoreTests {
    /// Feeds a stream, returning the events and the highest drift seen relative to the open line.
    func run(_ d: inout Detector, _ packets: [PacketFeatures]) -> (events: [DetectorEvent], peak: Double, scale: Double) {
        var events: [DetectorEvent] = []
        var peak = 0.0, scale = 0.0
        for f in packets {
            d.ingest(f)
            events += d.drainEvents()
            peak = max(peak, d.lastDrift / (d.openThreshold * d.noiseScale))
            scale = max(scale, d.noiseScale)
        }
        d.advance(to: packets.last!.timestamp + 2_000_000_000)
        events += d.drainEvents()
        return (events, peak, scale)
    }

    /// At the rate the baseline was learned at, and at a quarter of it (a restart at night of
    /// a baseline learned by day: the drift's sampling noise is four times larger).
    @Test(arguments: [2_000.0, 500])
    func normalTrafficAfterARestoreOpensNothing(rate: Double) throws {
        var d = try Detector(config: DetectorConfig(), restoring: Learned.standard)
        #expect(d.isWarmedUp)
        #expect(d.drainEvents().contains { if case .calibrated = $0 { true } else { false } })
        // Another day's traffic: the same kind of network, other clients, another hour.
        let s = Scenario(name: "after", seed: 31, epoch: Learned.later,
                         phases: [ScenarioPhase(name: "normal", duration: 20, normalRate: rate)])
        let (events, peak, scale) = run(&d, s.stream().map(\.features))
        #expect(d.incidents.isEmpty, "\(d.incidents.map(\.drift))")
        #expect(!events.contains { $0.isOpened })
        #expect(d.unexplainedCrossings == 0)
        #expect(peak < 1)
        #expect(d.adaptationCounts.learned >= 10)
        print("restore → 20 s normal at \(Int(rate)) pps: lines raised up to \(String(format: "%.2f", scale))×, incidents \(d.incidents.count), crossings \(d.unexplainedCrossings), peak drift \(String(format: "%.2f", peak)) × open line, adaptation \(d.adaptationCounts)")
    }

    /// Why the recent accumulator starts from the baseline's direction: started empty, its
    /// first ticks hold a handful of packets, whose drift from the baseline is many times the
    /// line — and the lines, raised for so thin an accumulator (``Detector/noiseScale``), would
    /// be blunt for the first second. Seeded, the drift starts low and the lines at 1×.
    @Test func anEmptyRecentAccumulatorWouldReadAsDrift() throws {
        let s = Scenario(name: "after", seed: 31, epoch: Learned.later,
                         phases: [ScenarioPhase(name: "normal", duration: 3, normalRate: 2_000)])
        let packets = s.stream().map(\.features)
        func firstSecond(_ d: inout Detector) -> (raw: Double, scale: Double) {
            var raw = 0.0, scale = 0.0
            for f in packets where f.timestamp < Learned.later + 1_000_000_000 {
                d.ingest(f)
                raw = max(raw, d.lastDrift / d.openThreshold)
                scale = max(scale, d.noiseScale)
            }
            return (raw, scale)
        }
        var seeded = try Detector(config: DetectorConfig(), restoring: Learned.standard)
        var empty = seeded
        empty.recent = Accumulator(dimension: empty.config.dimension)
        let withPrior = firstSecond(&seeded), withoutPrior = firstSecond(&empty)
        print("restore → first second of normal: peak drift \(String(format: "%.2f", withPrior.raw)) × the calibrated open line and lines raised at most \(String(format: "%.2f", withPrior.scale))× from the baseline's direction; \(String(format: "%.1f", withoutPrior.raw)) × and \(String(format: "%.1f", withoutPrior.scale))× from empty")
        #expect(withPrior.raw < 1)
        #expect(withPrior.scale < 1.5)
        #expect(withoutPrior.raw > 2)
        #expect(withoutPrior.scale > 10)
    }

    /// An attack 0.2 s after the start, or already running when the detector starts (a restart
    /// in the middle of an attack: ``bench restart``'s case).
    @Test(arguments: [(AttackKind.udpFlood, 0.2), (.synFlood, 0.2), (.dnsReflection, 0.2), (.udpFlood, 0), (.synFlood, 0)])
    func anAttackInTheFirstSecondIsCaught(_ kind: AttackKind, after lead: Double) throws {
        var d = try Detector(config: DetectorConfig(), restoring: Learned.standard)
        _ = d.drainEvents()
        let attackPhase = ScenarioPhase(name: "attack", duration: 2, normalRate: 2_000, attack: AttackSpec(kind: kind, rate: 20_000))
        let s = Scenario(name: "attack", seed: 32, epoch: Learned.later,
                         phases: lead > 0 ? [ScenarioPhase(name: "normal", duration: lead, normalRate: 2_000), attackPhase] : [attackPhase])
        let stream = s.stream().map(\.self)
        let attackStart = Learned.later + UInt64(lead * 1e9)
        let (events, _, _) = run(&d, stream.map(\.features))
        let opened = events.compactMap { if case .opened(let i) = $0 { i } else { nil } }
        let rules = events.flatMap { e -> [DetectedRule] in if case .rules(_, let r) = e { r } else { [] } }
        #expect(opened.count >= 1)
        let first = try #require(rules.first, "\(kind): no rule")
        let ms = Double(first.derivedAt - attackStart) / 1e6
        #expect(ms <= 1000, "\(kind): first rule \(ms) ms after the attack began")
        let attack = stream.filter(\.isAttack).map(\.features)
        let covered = attack.filter { f in rules.contains { $0.matches(f) } }.count
        #expect(Double(covered) >= 0.9 * Double(attack.count), "\(kind): rules cover \(covered) of \(attack.count)")
        print("restore → \(kind) at \(lead) s: first rule after \(String(format: "%.0f", ms)) ms, \(rules.count) rules, cover \(covered)/\(attack.count)")
    }
}
