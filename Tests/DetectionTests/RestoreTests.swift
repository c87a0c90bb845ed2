@testable import Detection
import Holon
import Packets
import Testing
import Traffic

/// Issue 11 §4: a detector restored from a saved baseline is armed from its first sample — no
/// blind warmup in which an attack would be learned as normal — and its first ticks, with an
/// almost empty recent accumulator, do not read as drift.
@Suite struct RestoreTests {
    /// Feeds a stream, returning the events and the highest drift seen relative to the open line.
    func run(_ d: inout Detector, _ packets: [PacketFeatures]) -> (events: [DetectorEvent], peak: Double) {
        var events: [DetectorEvent] = []
        var peak = 0.0
        for f in packets {
            d.ingest(f)
            events += d.drainEvents()
            peak = max(peak, d.lastDrift / d.openThreshold)
        }
        d.advance(to: packets.last!.timestamp + 2_000_000_000)
        events += d.drainEvents()
        return (events, peak)
    }

    @Test func normalTrafficAfterARestoreOpensNothing() throws {
        var d = try Detector(config: DetectorConfig(), restoring: Learned.standard)
        #expect(d.isWarmedUp)
        #expect(d.drainEvents().contains { if case .calibrated = $0 { true } else { false } })
        // Another day's traffic: the same kind of network, other clients, another hour.
        let s = Scenario(name: "after", seed: 31, epoch: Learned.later,
                         phases: [ScenarioPhase(name: "normal", duration: 20, normalRate: 2_000)])
        let (events, peak) = run(&d, s.stream().map(\.features))
        #expect(d.incidents.isEmpty, "\(d.incidents.map(\.drift))")
        #expect(!events.contains { $0.isOpened })
        #expect(d.unexplainedCrossings == 0)
        #expect(peak < 1)
        print("restore → 20 s normal: incidents \(d.incidents.count), crossings \(d.unexplainedCrossings), peak drift \(String(format: "%.2f", peak)) × open line, adaptation \(d.adaptationCounts)")
    }

    /// Why the recent accumulator starts from the baseline's direction: started empty, its
    /// first ticks hold a handful of packets, whose drift from the baseline is large.
    @Test func anEmptyRecentAccumulatorWouldReadAsDrift() throws {
        let s = Scenario(name: "after", seed: 31, epoch: Learned.later,
                         phases: [ScenarioPhase(name: "normal", duration: 3, normalRate: 2_000)])
        let packets = s.stream().map(\.features)
        var seeded = try Detector(config: DetectorConfig(), restoring: Learned.standard)
        var empty = seeded
        empty.recent = Accumulator(dimension: empty.config.dimension)
        let withPrior = run(&seeded, packets)
        let withoutPrior = run(&empty, packets)
        print("restore → 3 s normal: peak drift \(String(format: "%.2f", withPrior.peak)) × open line from the baseline's direction, \(String(format: "%.1f", withoutPrior.peak)) × from empty (\(empty.unexplainedCrossings) crossings, \(empty.incidents.count) incidents)")
        #expect(withPrior.peak < 1)
        #expect(withoutPrior.peak > 1)
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
        let (events, _) = run(&d, stream.map(\.features))
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
