import Dataplane
import Packets
import Rules
import Testing

/// The reference filter in observe mode counts as `FilterIntegrationTests.observeModeNeverDrops`
/// finds the kernel's: every rule's drop counted (the rule's counters, `observedDrops`, the
/// sample marked), every packet passed. No root.
@Suite struct ReferenceObserveTests {
    @Test func observeModeCountsAndNeverDrops() throws {
        let f = ReferenceFilter()
        try f.update { _ in [Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop, priority: 10)] }
        try f.setSampleEvery(1)
        f.observing = true
        #expect(f.observes() == true)
        let frame = PacketBuilder.bytes(.udp4(source: 0x0A08_0001, destination: 0x0A08_0002, sourcePort: 1234, destinationPort: 9, frameLength: 64))
        for t in 1...300 { f.send(frame, at: UInt64(t)) }
        let s = try f.stats()
        #expect(s.packets == 300 && s.passed == 300 && s.dropped == 0 && s.observedDrops == 300, "\(s)")
        #expect(f.counters(forRule: 1) == RuleCounters(hits: 300, drops: 300))
        let samples = try f.drain()
        #expect(samples.count == 300 && samples.allSatisfy { $0.verdict == .drop && $0.observed })
        f.observing = false
        f.send(frame, at: 301)
        #expect(try f.stats().dropped == 1)
        #expect(try f.drain().first?.observed == false)
    }
}
