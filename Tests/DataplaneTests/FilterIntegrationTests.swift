import Dataplane
import Foundation
import Lab
import Packets
import Rules
import TestSupport
import Testing

/// Real traffic through a veth pair into the attached filter. Root only; serialized so the
/// rate-limit measurement has the machine to itself.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: namespaces, veth, XDP"))
struct FilterIntegrationTests {
    let udp9 = Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop, priority: 10)

    /// Two handles on one filter, as a sidecar and `holon rules add` in another process: each
    /// change starts from the table as it is now, so neither loses the other's rules.
    @Test func twoWritersKeepEachOthersRules() throws {
        let t = try TestLab("two")
        defer { t.close() }
        let other = try Dataplane.open(t.options)
        try other.add([udp9])
        let mine = Rule(id: 1_000_000_001, match: [.equals(.proto, 6)], action: .drop, priority: 100)
        try t.dataplane.update { $0 + [mine] }   // this handle never saw rule 1
        #expect(Set(t.dataplane.rules.map(\.id)) == [1, 1_000_000_001])
        let missing = try other.delete(ids: [1_000_000_001, 5])
        #expect(missing == [5])
        #expect(try Dataplane.open(t.options).rules.map(\.id) == [1])
    }

    @Test func dropCountsExactly() throws {
        let t = try TestLab("drop")
        defer { t.close() }
        try t.dataplane.install([udp9])
        let frames = (0..<600).map { Frames.udp(sequence: $0) }
        t.sender.send(frames)
        let s = try t.settle(packets: 600)
        let received = t.receiver.receive(for: 0.3, keep: { Frames.isTest($0) })
        #expect(s.packets == 600)
        #expect(s.dropped == 600)
        #expect(s.passed == 0)
        #expect(received.isEmpty)
        #expect(t.dataplane.counters(forRule: 1) == RuleCounters(hits: 600, drops: 600))
    }

    @Test func passReachesTheStack() throws {
        let t = try TestLab("pass")
        defer { t.close() }
        // A broader drop with a higher-priority pass carved out of it.
        try t.dataplane.install([Rule(id: 1, match: [.equals(.proto, 17)], action: .drop, priority: 1),
                                 Rule(id: 2, match: [.equals(.dstPort, 9)], action: .pass, priority: 5)])
        let frames = (0..<400).map { Frames.udp(sequence: $0) }
        t.sender.send(frames)
        let s = try t.settle(packets: 400)
        let received = t.receiver.receive(for: 0.5, keep: { Frames.isTest($0) })
        #expect(s.packets == 400 && s.passed == 400 && s.dropped == 0)
        #expect(received.count == 400)
        #expect(t.dataplane.counters(forRule: 2).hits == 400)
        #expect(t.dataplane.counters(forRule: 1).hits == 0)
    }

    @Test func rateLimitHoldsTheRate() throws {
        let t = try TestLab("rate")
        defer { t.close() }
        let pps: UInt64 = 2000, burst: UInt64 = 100
        try t.dataplane.install([Rule(id: 7, match: [.equals(.dstPort, 9)], action: .rateLimit(pps: pps, burst: burst))])
        // 10k pps offered for 2 s, paced by the clock.
        let offered = 10_000.0, seconds = 2.0
        let total = Int(offered * seconds)
        let frames = (0..<256).map { Frames.udp(sequence: $0) }
        let start = now()
        var firstSent = 0.0, lastSent = 0.0
        for i in 0..<total {
            let due = start + Double(i) / offered
            while now() < due {}
            t.sender.send([frames[i % frames.count]], burst: .max)
            if i == 0 { firstSent = now() }
            lastSent = now()
        }
        let s = try t.settle(packets: UInt64(total))
        #expect(s.packets == UInt64(total))
        let span = lastSent - firstSent
        let expected = Double(burst) + Double(pps) * span
        let passed = Double(s.passed)
        #expect(abs(passed - expected) <= 0.05 * Double(pps) * span, "passed \(passed), expected \(expected)")
        #expect(s.rateLimited == s.dropped && s.dropped + s.passed == UInt64(total))
    }

    @Test func allowlistAlwaysPasses() throws {
        let t = try TestLab("allow")
        defer { t.close() }
        try t.dataplane.install([Rule(id: 1, action: .drop)])   // drop everything…
        try t.dataplane.allow([AllowPrefix("10.9.0.0/16")!])    // …except this source
        let allowed = (0..<100).map { Frames.udp(source: 0x0A09_0000 | UInt32($0), sequence: $0) }
        let other = (0..<100).map { Frames.udp(source: 0x0A08_0000 | UInt32($0), sequence: $0) }
        t.sender.send(allowed + other)
        let s = try t.settle(packets: 200)
        let received = t.receiver.receive(for: 0.4, keep: { Frames.isTest($0) })
        #expect(s.allowlisted == 100 && s.dropped == 100 && s.passed == 100)
        #expect(received.count == 100)
        #expect(received.allSatisfy { $0[26] == 10 && $0[27] == 9 })
    }

    @Test func observeModeNeverDrops() throws {
        let t = try TestLab("obs")
        defer { t.close() }
        try t.dataplane.install([udp9])
        try t.dataplane.setObserve(true)
        t.sender.send((0..<300).map { Frames.udp(sequence: $0) })
        let s = try t.settle(packets: 300)
        let received = t.receiver.receive(for: 0.4, keep: { Frames.isTest($0) })
        #expect(s.packets == 300 && s.passed == 300 && s.dropped == 0 && s.observedDrops == 300)
        #expect(received.count == 300)
        #expect(t.dataplane.counters(forRule: 1) == RuleCounters(hits: 300, drops: 300))
    }

    @Test func samplesAreTheSentBytes() throws {
        let t = try TestLab("smpl")
        defer { t.close() }
        try t.dataplane.install([udp9])
        let reader = try t.dataplane.sampleReader(keepingBytes: true)
        try t.dataplane.setSampleEvery(1)
        // Sizes around and past the 256-byte sample.
        let frames = (0..<60).map { Frames.udp(sequence: $0, length: [60, 64, 200, 256, 300, 1000][$0 % 6]) }
        t.sender.send(frames)
        _ = try t.settle(packets: 60)
        var got: [DataplaneSample] = []
        let deadline = now() + 2
        while got.count < 60 && now() < deadline { got += try reader.poll(timeoutMilliseconds: 50) }
        try #require(got.count == 60)
        for (f, s) in zip(frames, got) {
            #expect(s.bytes == Array(f.prefix(256)))
            // Parsed in the ring's memory as read: the same fields as parsing the kept bytes.
            let byHand = DataplaneSample(timestamp: s.timestamp, wireLength: s.wireLength, verdict: s.verdict, ruleID: s.ruleID, bytes: s.bytes)
            #expect(try s.features() == byHand.features())
            #expect(s.wireLength == UInt32(f.count))
            #expect(s.verdict == .drop && s.ruleID == 1)
        }
        let wall = UInt64(Date().timeIntervalSince1970 * 1e9)
        #expect(got.allSatisfy { $0.timestamp <= wall && wall - $0.timestamp < 10_000_000_000 })
        #expect(try got[0].features().dstPort == 9)
    }

    @Test func pinsOutliveTheLoaderAndDetachRemovesAll() throws {
        let t = try TestLab("pins")
        defer { t.close() }
        try t.dataplane.install([udp9])
        // A second process's view: reopen from pins only, then let every fd of this one go.
        let reopened = try Dataplane.open(t.options)
        #expect(reopened.rules == [udp9])
        t.sender.send((0..<100).map { Frames.udp(sequence: $0) })
        let s = try t.settle(packets: 100)
        #expect(s.dropped == 100)
        #expect(try Dataplane.status(t.options).attached)
        try Dataplane.detach(t.options)
        #expect(!FileManager.default.fileExists(atPath: t.options.pinDirectory))
        let st = try Dataplane.status(t.options)
        #expect(!st.attached && !st.pinned)
        t.sender.send((0..<50).map { Frames.udp(sequence: $0) })
        let received = t.receiver.receive(for: 0.4, keep: { Frames.isTest($0) })
        #expect(received.count == 50)
    }
}
