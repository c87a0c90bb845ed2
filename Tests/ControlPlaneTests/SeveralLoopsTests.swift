@testable import ControlPlane
@testable import Detection
import Foundation
import Rules
import Sidecar
import TestSupport
import Testing

/// `holon run` over several interfaces: one loop each, one control plane.
@Suite("Control plane: several loops", .offPool)
struct SeveralLoopsTests {
    func heartbeat(pps: Double, rules: Int) -> SidecarEvent {
        var s = SidecarStats()
        s.filterPps = pps
        s.rulesInstalled = rules
        s.samples = 10
        s.warmedUp = true
        return .heartbeat(s)
    }

    @Test func loopsAreToldApartAndAddUp() throws {
        let state = ControlState(primarySource: "eth0")
        let t = Date()
        state.record(heartbeat(pps: 100, rules: 1), at: t, source: "eth1")
        state.record(heartbeat(pps: 1000, rules: 2), at: t, source: "eth0")
        state.record(heartbeat(pps: 150, rules: 1), at: t.addingTimeInterval(0.5), source: "eth1")
        state.record(heartbeat(pps: 2000, rules: 2), at: t.addingTimeInterval(1), source: "eth0")
        #expect(state.stats.filterPps == 2150 && state.stats.samples == 20 && state.stats.rulesInstalled == 3)
        #expect(state.history().map(\.pps) == [1100, 2150], "a point per heartbeat of the primary loop, every loop's rate in it")

        // Each loop numbers its incidents from 1.
        let a = Incident(id: 1, openedAt: 1_000, drift: 0.2, dimension: 64)
        let b = Incident(id: 1, openedAt: 2_000, drift: 0.3, dimension: 64)
        state.record(.opened(a), source: "eth0")
        let line = state.record(.opened(b), source: "eth1")
        #expect(line.contains(#""interface":"eth1""#))
        let rule = Rule(id: 1_000_000_001, match: [.equals(.proto, 17)], action: .drop, ttlSeconds: 60)
        var other = rule
        other.id = 1_000_000_001
        state.record(.installed(incident: 1, [rule], nanoseconds: 1), source: "eth0")
        state.record(.installed(incident: 7, [other], nanoseconds: 1), source: "eth1")
        #expect(state.incidents.map(\.interface) == ["eth1", "eth0"], "newest first")
        #expect(state.incidents.map(\.rules.count) == [0, 1])
        #expect(state.incident(ofRule: 1_000_000_001, source: "eth0") == 1, "each loop's rules, told apart")
        #expect(state.incident(ofRule: 1_000_000_001, source: "eth1") == 7)
    }

    @Test func oneLoopIsAsBefore() {
        let state = ControlState()
        let line = state.record(heartbeat(pps: 5, rules: 0))
        #expect(!line.contains("interface"))
        #expect(state.stats.filterPps == 5 && state.history().count == 1)
        #expect(SidecarStats.sum([]).warmedUp == false)
    }
}
