import ControlPlane
import Flowspec
import Foundation
import Packets
import Rules
import TestSupport
import Testing

/// Issue 16: the API and the dashboard show each rule's BGP Flowspec state.
@Suite("Control plane: BGP announcements", .offPool)
struct AnnouncementRoutesTests {
    /// A speaker that takes everything (the real ones are tested against real daemons).
    struct Accepting: FlowspecSpeaker {
        func announce(_ r: FlowspecRule) throws(FlowspecError) {}
        func withdraw(_ r: FlowspecRule) throws(FlowspecError) {}
    }

    @Test(.timeLimit(.minutes(1))) func rulesCarryTheirAnnouncementState() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            let r = try await offPool { try RawHTTP.request(port: port, "GET", "/api/announcements") }
            #expect(r.status == 200 && r.body.contains("\"bgp\":false"), "\(r.body)")
        }
        let announcer = FlowspecAnnouncer(speaker: Accepting(), policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]))
        let victim = Predicate.prefix(.dstIP, .v4(0xC633_640A), length: 32)
        announcer.announce([Rule(id: sidecarRule.id, match: [victim, .equals(.proto, 6), .equals(.tcpFlags, 2)], action: .drop),
                            Rule(id: 5, match: [victim], action: .drop)], baseline: [])
        announcer.flush()
        state.follow { announcer.announcements }
        try await withControlServer(state: state, filter: filter) { port in
            let list = try await offPool { try RawHTTP.request(port: port, "GET", "/api/announcements") }
            let o = try #require(try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [String: Any])
            let items = try #require(o["announcements"] as? [[String: Any]])
            #expect(o["bgp"] as? Bool == true && items.count == 2)
            #expect(items.first { $0["rule_id"] as? Int == 5 }?["state"] as? String == "refused", "a destination alone is a blackhole: \(items)")
            let rules = try await offPool { try RawHTTP.request(port: port, "GET", "/api/rules") }
            let views = try #require(try JSONSerialization.jsonObject(with: Data(rules.body.utf8)) as? [[String: Any]])
            let mine = views.first { $0["id"] as? Int == Int(sidecarRule.id) }
            #expect(mine?["bgp"] as? String == "announced", "\(String(describing: mine))")
            #expect((mine?["bgp_detail"] as? String)?.contains("destination 198.51.100.10/32") == true)
        }
    }
}
