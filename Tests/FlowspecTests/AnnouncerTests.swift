import Flowspec
import Foundation
import Packets
import Rules
import Testing

/// The guardrails on what reaches a whole network, with a speaker that records.
struct AnnouncerTests {
    final class Recording: FlowspecSpeaker, @unchecked Sendable {
        let lock = NSLock()
        var live: [FlowspecRule] = []
        var failNext = false
        func announce(_ r: FlowspecRule) throws(FlowspecError) {
            let fail = lock.withLock { () -> Bool in
                defer { failNext = false }
                // As a router holds them: one route per match, the last announced.
                if !failNext { live.removeAll { $0.sameMatch(r) }; live.append(r) }
                return failNext
            }
            if fail { throw FlowspecError("the speaker is down") }
        }
        /// A withdrawal names the match alone (BGP's withdrawn routes carry no action).
        func withdraw(_ r: FlowspecRule) throws(FlowspecError) { lock.withLock { live.removeAll { $0.sameMatch(r) } } }
        func announced() throws(FlowspecError) -> [FlowspecRule]? { lock.withLock { live } }
        /// The speaker restarted: it forgot every route.
        func forget() { lock.withLock { live.removeAll() } }
        var count: Int { lock.withLock { live.count } }
    }

    let victim = Rules.Predicate.prefix(.dstIP, .v4(0xC633_640A), length: 32)   // 198.51.100.10
    func udp(_ id: UInt32, to dst: Rules.Predicate? = nil) -> Rule { Rule(id: id, match: [dst ?? victim, .equals(.proto, 17), .equals(.dstPort, UInt64(id))], action: .drop) }

    func state(_ a: FlowspecAnnouncer, _ id: UInt32) -> Announcement? { a.announcements.first { $0.ruleID == id } }

    @Test func onlyProtectedDestinationsAndNeverADestinationAlone() {
        let s = Recording()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]))
        a.announce([udp(1), udp(2, to: .prefix(.dstIP, .v4(0xCB00_7101), length: 32)), Rule(id: 3, match: [victim], action: .drop),
                    Rule(id: 4, match: [.equals(.proto, 17)], action: .drop)], baseline: [])
        a.flush()
        #expect(state(a, 1)?.state == .announced)
        #expect(state(a, 2)?.state == .refused && state(a, 2)?.detail.contains("outside the protected") == true)
        #expect(state(a, 3)?.state == .refused && state(a, 3)?.detail.contains("blackhole") == true)
        #expect(state(a, 4)?.state == .refused && state(a, 4)?.detail.contains("no destination") == true)
        #expect(s.count == 1)
    }

    @Test func aCeilingObserveModeAndStopping() {
        let s = Recording()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!], maxAnnounced: 3))
        a.announce((1...5).map { udp($0) }, baseline: [])
        a.flush()
        #expect(s.count == 3)
        #expect(state(a, 4)?.state == .refused && state(a, 4)?.detail.contains("3 rules are announced already") == true)
        // A route leaves: the oldest rule the ceiling refused takes its place (it stayed
        // refused until derived again).
        a.withdraw([1])
        a.flush()
        #expect(s.count == 3 && state(a, 1)?.state == .withdrawn && state(a, 4)?.state == .announced && state(a, 5)?.state == .refused)
        a.withdraw([5, 4])
        a.flush()
        #expect(s.count == 2, "a rule gone while it waited is not announced")
        // Observe: what is announced is withdrawn, new rules are only logged.
        a.setObserve(true)
        a.announce([udp(6)], baseline: [])
        a.flush()
        #expect(s.count == 0 && state(a, 6)?.state == .observed)
        a.setObserve(false)
        a.announce([udp(7), udp(8)], baseline: [])
        a.withdrawAll()
        #expect(s.count == 0, "holon stopping leaves nothing announced")
    }

    /// A widened rule needs a baseline to be checked against; without one it stays home.
    @Test func wideningNeedsABaseline() {
        let s = Recording()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]))
        let withTTL = Rule(id: 9, match: [victim, .equals(.proto, 17), .equals(.ttl, 243)], action: .drop)
        a.announce([withTTL], baseline: nil)
        a.flush()
        #expect(state(a, 9)?.state == .refused && state(a, 9)?.detail.contains("no baseline") == true)
        a.announce([withTTL], baseline: [PacketFeatures()])
        a.flush()
        #expect(state(a, 9)?.state == .announced && state(a, 9)?.widened == ["(= ttl 243)"])
    }

    @Test func aSpeakerFailureIsReportedAndNotCountedAsAnnounced() {
        let s = Recording()
        s.failNext = true
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]))
        a.announce([udp(1)], baseline: [])
        a.flush()
        #expect(state(a, 1)?.state == .failed)
        a.withdrawAll()
        #expect(s.count == 0)
    }

    /// A rule rewritten under its id (its drop held as a rate limit, or derived again) has one
    /// route, which says what the rule does now; another match under the same id replaces the
    /// route too, where the old one stayed announced with no rule behind it.
    @Test func aRuleRewrittenUnderItsIDHasOneRoute() {
        let s = Recording()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!], packetBytes: 100))
        a.announce([udp(1)], baseline: [])
        var held = udp(1)
        held.action = .rateLimit(pps: 50, burst: 50)
        a.announce([held], baseline: [])
        a.flush()
        #expect(s.live.map(\.action) == [.trafficRate(bytesPerSecond: 5_000)])
        a.announce([udp(1)], baseline: [])
        a.flush()
        #expect(s.live.map(\.action) == [.discard], "derived again: dropping again at the router")
        var elsewhere = udp(1)
        elsewhere.predicates[2] = .equals(.dstPort, 2)
        a.announce([elsewhere], baseline: [])
        a.flush()
        #expect(s.live.map(\.components) == [elsewhere.flowspec?.components], "only the new match: \(s.live.map(\.gobgpMatch))")
        #expect(state(a, 1)?.state == .announced)
        a.withdrawAll()
        #expect(s.count == 0, "holon stopping leaves nothing announced")
    }
}

/// The speaker checked against what the announcer believes it announces: a speaker that
/// restarted (and forgot), an announcement or a withdrawal that failed, are mended.
struct AnnouncerReconcileTests {
    final class Said: @unchecked Sendable {
        let lock = NSLock()
        var lines: [String] = []
        func add(_ s: String) { lock.withLock { lines.append(s) } }
    }

    @Test func whatTheSpeakerForgotOrRefusedIsAnnouncedAgain() {
        let s = AnnouncerTests.Recording()
        let said = Said()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]), warn: { said.add($0) })
        a.announce([AnnouncerTests().udp(1), AnnouncerTests().udp(2)], baseline: [])
        a.flush()
        s.forget()
        a.reconcile()
        a.flush()
        #expect(s.count == 2, "both announced again")
        #expect(said.lines.last?.contains("no longer announced 2 route(s)") == true, "\(said.lines)")
        // The speaker refused one (down): the next check announces it.
        s.failNext = true
        a.announce([AnnouncerTests().udp(3)], baseline: [])
        a.flush()
        #expect(s.count == 2 && a.announcements.first { $0.ruleID == 3 }?.state == .failed)
        a.reconcile()
        a.flush()
        #expect(s.count == 3 && a.announcements.first { $0.ruleID == 3 }?.state == .announced)
        // Nothing lost, nothing failed: a check changes nothing and says nothing.
        let before = said.lines.count
        a.reconcile()
        a.flush()
        #expect(s.count == 3 && said.lines.count == before)
        a.withdrawAll()
    }
}

/// Two rules with one match (a held rule and an operator's pinned copy of it, say) share one
/// route at the router: the first withdrawn leaves it to the other, with the other's action.
struct AnnouncerSharedRouteTests {
    @Test func aRouteOutlivesOneOfTwoRulesWithItsMatch() {
        let s = AnnouncerTests.Recording()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!], packetBytes: 100))
        let drop = AnnouncerTests().udp(1)
        var limit = drop
        limit.id = 2
        limit.action = .rateLimit(pps: 10, burst: 10)
        a.announce([drop, limit], baseline: [])
        a.withdraw([2])
        a.flush()
        #expect(s.live.map(\.action) == [.discard], "rule 1's route, with rule 1's action")
        #expect(a.announcements.first { $0.ruleID == 2 }?.state == .withdrawn)
        a.announce([limit], baseline: [])
        a.withdraw([1])
        a.flush()
        #expect(s.live.map(\.action) == [.trafficRate(bytesPerSecond: 1_000)])
        a.withdraw([2])
        a.flush()
        #expect(s.count == 0)
    }
}

/// The filter's own observe mode, however it was set (the file, `holon filter observe`, the
/// API): the network drops nothing the filter only observes, and gets the loop's rules back
/// when it enforces again.
struct AnnouncerModeTests {
    func udp(_ id: UInt32) -> Rule { AnnouncerTests().udp(id) }
    func ports(_ s: AnnouncerTests.Recording) -> [UInt64] {
        s.lock.withLock { s.live }.compactMap { r -> UInt64? in
            if case .numeric(_, let ops)? = r.component(.destinationPort) { ops.first?.value } else { nil }
        }.sorted()
    }

    @Test func aFilterThatObservesTakesItsRoutesBackAndEnforcingSendsThemAgain() {
        let s = AnnouncerTests.Recording()
        let a = FlowspecAnnouncer(speaker: s, policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!]))
        a.announce([udp(1), udp(2)], baseline: [])
        a.flush()
        #expect(ports(s) == [1, 2])
        a.setFilterObserving(true, filter: "eth0")
        a.announce([udp(3)], baseline: [])
        a.withdraw([2])
        a.flush()
        #expect(ports(s).isEmpty, "the filter observes: the network drops nothing")
        #expect(a.announcements.first { $0.ruleID == 3 }?.state == .observed)
        // Another filter enforcing changes nothing while one observes.
        a.setFilterObserving(false, filter: "eth1")
        a.flush()
        #expect(ports(s).isEmpty)
        a.setFilterObserving(false, filter: "eth0")
        a.flush()
        #expect(ports(s) == [1, 3], "the loop's rules as they are now, not the withdrawn one")
        // Flowspec's own observe (`bgp.observe`) holds whatever the filters do.
        a.setObserve(true)
        a.flush()
        #expect(ports(s).isEmpty)
        a.setFilterObserving(true, filter: "eth0")
        a.setFilterObserving(false, filter: "eth0")
        a.flush()
        #expect(ports(s).isEmpty)
        a.setObserve(false)
        a.flush()
        #expect(ports(s) == [1, 3])
        a.withdrawAll()
        #expect(ports(s).isEmpty)
    }
}

extension Rule {
    var flowspec: FlowspecRule? { FlowspecTranslator().translate(self, baseline: []).rule }
}
