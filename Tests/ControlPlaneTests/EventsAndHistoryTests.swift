@testable import ControlPlane
import Foundation
import Sidecar
import TestSupport
import Testing

/// Events carry wall-clock time; the chart's series is kept and served.
@Suite("Control plane: events and history", .offPool)
struct EventsAndHistoryTests {
    func heartbeat(pps: Double, drops: Double) -> SidecarEvent {
        var s = SidecarStats()
        s.filterPps = pps
        s.filterDropPps = drops
        s.warmedUp = true
        return .heartbeat(s)
    }

    @Test func eventsAreStamped() throws {
        let state = ControlState()
        let at = Date(timeIntervalSince1970: 1_796_367_662.345)   // 2026-12-04T07:01:02.345Z
        let line = state.record(.removed([5], reason: "test"), at: at)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(o["time"] as? String == "2026-12-04T07:01:02.345Z")
        #expect(o["time_ms"] as? Int == 1_796_367_662_345)
        #expect(o["event"] as? String == "removed" && o["reason"] as? String == "test")
        #expect(state.recentEvents == [line])
    }

    @Test func theStreamCarriesTheStamps() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let r = try await offPool { try RawHTTP.request(port: port, "GET", "/api/events?follow=false") }
            let events = r.body.split(separator: "\n\n").map { $0.dropFirst("data: ".count) }
            #expect(events.count == 5)
            for e in events {
                let o = try JSONSerialization.jsonObject(with: Data(e.utf8)) as? [String: Any]
                #expect((o?["time_ms"] as? Int).map { abs(Double($0) / 1000 - Date().timeIntervalSince1970) < 60 } == true)
                #expect((o?["time"] as? String)?.hasSuffix("Z") == true)
            }
        }
    }

    @Test func historyIsABoundedRing() {
        let state = ControlState(keepHistory: 600)
        let start = Date().addingTimeInterval(-700)
        for i in 0..<700 { state.record(heartbeat(pps: Double(i), drops: 0), at: start.addingTimeInterval(Double(i))) }
        let h = state.history()
        #expect(h.count == 600)
        #expect(h.first?.pps == 100 && h.last?.pps == 699, "oldest first, the oldest 100 gone")
        #expect(zip(h, h.dropFirst()).allSatisfy { $0.time_ms < $1.time_ms })
        #expect(state.recentEvents.count == 500, "events stay bounded by their own limit")
    }

    @Test func historyOverHTTP() async throws {
        let (state, filter) = filled()
        let now = Date()
        for i in 0..<180 { state.record(heartbeat(pps: 1000, drops: i >= 170 ? 900 : 0), at: now.addingTimeInterval(Double(i - 180))) }
        try await withControlServer(state: state, filter: filter) { port in
            func points(_ path: String) async throws -> [[String: Any]] {
                let r = try await offPool { try RawHTTP.request(port: port, "GET", path) }
                #expect(r.status == 200, "\(path)")
                return (try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [[String: Any]]) ?? []
            }
            // filled() already sent one heartbeat (now): 181 points.
            #expect(try await points("/api/history").count == 181)
            let lastMinute = try await points("/api/history?minutes=1")
            // 60 points, fewer by the seconds this test took since `now` (a loaded machine's few).
            #expect((50...62).contains(lastMinute.count), "\(lastMinute.count)")
            #expect(Set(lastMinute.first?.keys.map { $0 } ?? []) == ["time_ms", "pps", "drop_pps", "open_incidents", "rules"])
            #expect(lastMinute.suffix(10).allSatisfy { $0["drop_pps"] as? Double == 900 })
            let since = Int64((now.timeIntervalSince1970 - 5) * 1000)
            #expect(try await points("/api/history?since_ms=\(since)").count == 6)
            for bad in ["minutes=abc", "minutes=0", "minutes=99999", "since_ms=yesterday"] {
                let r = try await offPool { try RawHTTP.request(port: port, "GET", "/api/history?\(bad)") }
                #expect(r.status == 400, "\(bad)")
                #expect(errorText(r.body)?.isEmpty == false)
            }
        }
    }
}
