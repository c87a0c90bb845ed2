import Flowspec
import Foundation
import Packets
import Rules
import Testing

/// What a run announced, kept for the next: a run killed before it withdrew left its routes at
/// the speaker, discarding at every router with no rule behind them and no one to withdraw them.
struct AnnouncedLedgerTests {
    let dir = NSTemporaryDirectory() + "holon-ledger-\(getpid())-\(UInt32.random(in: 0 ... .max))"

    func route(_ rule: Rule) throws -> FlowspecRule {
        try #require(FlowspecTranslator(packetBytes: 100).translate(rule, baseline: []).rule)
    }

    @Test func routesRoundTripAndNoneLeavesNoFile() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = AnnouncedLedger(path: AnnouncedLedger.path(for: "gobgp-127.0.0.1-50051", directory: dir))
        #expect(ledger.path == dir + "/flowspec-gobgp-127.0.0.1-50051.json")
        #expect(try ledger.load().isEmpty, "no file: nothing left announced")
        let v4 = try route(AnnouncerTests().udp(1))
        var limited = AnnouncerTests().udp(2)
        limited.action = .rateLimit(pps: 10, burst: 10)
        let v6 = try route(Rule(id: 3, match: [.prefix(.dstIP, IPAddress("2001:db8::10")!, length: 128), .equals(.proto, 17), .equals(.dstPort, 53)],
                                action: .drop))
        let routes: [UInt32: FlowspecRule] = [1: v4, 2: try route(limited), 3: v6]
        try ledger.save(routes)
        #expect(try ledger.load() == routes)
        try ledger.save([:])
        #expect(!FileManager.default.fileExists(atPath: ledger.path))
    }

    @Test func aDamagedLedgerIsOneLineNamingIt() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ledger = AnnouncedLedger(path: dir + "/flowspec-x.json")
        try "{\"format\": 1, \"routes\": [{\"rule_id\": 1, \"family\": \"ipv4\", \"nlri\": \"zz\", \"rate\": 0}]}".write(toFile: ledger.path, atomically: true, encoding: .utf8)
        #expect(throws: FlowspecError("\(ledger.path): route 0 is unreadable")) { try ledger.load() }
        try "not json".write(toFile: ledger.path, atomically: true, encoding: .utf8)
        #expect(throws: FlowspecError("\(ledger.path) is not a ledger of announced routes (format 1)")) { try ledger.load() }
    }

    /// A run killed with routes announced; the next one withdraws those whose rules are gone
    /// from the filter, keeps the others (announced again in place), and at its stop leaves
    /// nothing announced and no ledger.
    @Test func theNextRunWithdrawsWhatItsRulesNoLongerBack() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = AnnouncedLedger(path: dir + "/flowspec-test.json")
        let policy = AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!])
        let s = AnnouncerTests.Recording()
        let first = FlowspecAnnouncer(speaker: s, policy: policy, ledger: ledger)
        first.announce([AnnouncerTests().udp(1), AnnouncerTests().udp(2)], baseline: [])
        first.flush()
        let kept = try ledger.load()
        #expect(s.count == 2 && kept.count == 2)
        // Killed here: no withdrawAll. Rule 2 left the filter meanwhile.
        let next = FlowspecAnnouncer(speaker: s, policy: policy, ledger: ledger)
        next.inherit(keeping: [1])
        next.flush()
        let one = try route(AnnouncerTests().udp(1))
        #expect(s.live.map(\.components) == [one.components], "rule 2's route withdrawn, rule 1's kept")
        #expect(next.announcements.first { $0.ruleID == 2 }?.state == .withdrawn)
        next.announce([AnnouncerTests().udp(1)], baseline: [])   // adopted: the same route
        next.withdrawAll()
        #expect(s.count == 0 && !FileManager.default.fileExists(atPath: ledger.path))

        // A run that starts observing (Flowspec's own observe) keeps none of them.
        first.announce([AnnouncerTests().udp(3)], baseline: [])
        first.flush()
        var observing = policy
        observing.observe = true
        let third = FlowspecAnnouncer(speaker: s, policy: observing, ledger: ledger)
        third.inherit(keeping: [3])
        third.flush()
        #expect(s.count == 0 && !FileManager.default.fileExists(atPath: ledger.path))
    }
}
