import Dataplane
import Flowspec
import Foundation
import Generator
import Lab
import Packets
import TestSupport
import Testing
import Traffic

/// Issue 16 end to end: `holon run --config` with a `bgp` section, gobgpd beside it and a second
/// gobgpd standing for an edge router. An attack's rule reaches the router; it leaves the router
/// when the rule retires, and when holon stops.
@Suite("Flowspec from the live loop to a router (root)", .ownThread, .serialized,
       .enabled(if: geteuid() == 0 && GoBGPPair.available && FileManager.default.isExecutableFile(atPath: Tools.holon)))
struct FlowspecDaemonTests {
    // Four minutes once its turn came: the traffic takes 22 s, the lab, two gobgpd peering and
    // the daemon's start up to 20 s more on a loaded machine. A run counted at 177 s and one
    // that timed out at 288 s had waited for their turn most of that time (the body took 43 s).
    @Test(.timeLimitAfterTurn(minutes: 4)) func rulesReachTheRouterAndLeaveIt() throws {
        let began = Date()
        func took(_ step: String) { print("flowspec daemon test: \(step) after \(String(format: "%.1f", Date().timeIntervalSince(began))) s") }
        let t = try FlowspecBed("bg")
        defer { t.close() }
        took("lab and peering")
        try t.start()
        took("daemon start")

        let victim = IPPrefix("198.51.100.10")!
        let sender = t.send(Scenario(name: "bgp", seed: 5, phases: [
            ScenarioPhase(name: "learn", duration: 6, normalRate: 1_500),
            ScenarioPhase(name: "flood", duration: 4, normalRate: 1_500, attack: AttackSpec(kind: .udpFlood, rate: 15_000, victim: victim)),
            ScenarioPhase(name: "quiet", duration: 7, normalRate: 1_500),
            ScenarioPhase(name: "flood-again", duration: 5, normalRate: 1_500, attack: AttackSpec(kind: .udpFlood, rate: 15_000, victim: victim)),
        ]))
        let daemon = t.daemon

        // The flood's rule, installed in XDP, reaches the router: inside the protected network,
        // more than a destination.
        let arrived = t.until(10) { !t.routes.isEmpty }
        try #require(arrived != nil, "no route at the router; events: \(daemon.events.map { $0.detail ?? $0.kind })")
        let installed = try #require(daemon.events.first { $0.kind == "installed" })
        #expect(arrived!.timeIntervalSince(installed.at) < 2, "at the router \(arrived!.timeIntervalSince(installed.at)) s after XDP")
        for r in t.routes {
            #expect(r.destination.map { IPPrefix("198.51.100.0/24")!.covers($0) } == true, "\(r.gobgpMatch)")
            #expect(r.components.count > 1)
        }
        #expect(t.within(3) { daemon.events.contains { $0.detail == "flowspec-announced" } } != nil)

        // The flood over, the rule is held as a rate limit: the router's route says so (it kept
        // discarding what the filter let through at a trickle) …
        let heldAtRouter = t.until(16.5) { t.routes.contains { $0.action != .discard } }
        #expect(heldAtRouter != nil, "the held rule's route still discards: \(t.routes.map(\.action))")
        // … and it retires after its hold: withdrawn from the router too.
        let retired = t.until(16.5) { t.routes.isEmpty }
        #expect(retired != nil, "still at the router after the rule retired: \(t.routes.map(\.gobgpMatch))")
        // The router may hear of it before the daemon's log line reaches this test.
        #expect(t.within(3) { daemon.events.contains { $0.detail == "flowspec-withdrawn" } } != nil)

        // Again, and holon stops in the middle: the router lets go of it.
        let again = t.until(21) { !t.routes.isEmpty }
        #expect(again != nil, "the second flood's rule never reached the router")
        #expect(daemon.stop(SIGTERM) == 0)
        #expect(t.within(3) { t.routes.isEmpty } != nil, "holon stopped, yet the router keeps \(t.routes.map(\.gobgpMatch))")
        while !sender.isFinished { usleep(20_000) }
        took("traffic")
    }

    /// Mid-attack, an operator switches the filter to observe (`holon filter observe on`) and
    /// back, then releases the loop's rule (`holon rules release`: the rule leaves the table).
    /// The router follows each: the route leaves, comes back, and leaves. Before, it stayed
    /// announced through all three until holon stopped.
    @Test(.timeLimitAfterTurn(minutes: 4)) func theRouterFollowsObserveModeAndARelease() throws {
        let t = try FlowspecBed("bh")
        defer { t.close() }
        try t.start()
        let sender = t.sendFlood("bgp-release", seed: 6, flood: 16)
        defer { while !sender.isFinished { usleep(20_000) } }
        let daemon = t.daemon
        func since(_ at: Date) -> String { String(format: "%.1f s", Date().timeIntervalSince(at)) }
        let ids = try t.floodRouteArrived(by: 11)
        try #require(!ids.isEmpty)

        // What `holon filter observe on` and `off` do: the filter's mode, from another process.
        try Dataplane.open(t.target).setObserve(true)
        let observing = Date()
        #expect(t.within(3) { t.routes.isEmpty } != nil, "the filter observes, yet the router keeps \(t.routes.map(\.gobgpMatch))")
        print("flowspec mode test: the route left the router \(since(observing)) after observe on")
        try Dataplane.open(t.target).setObserve(false)
        let enforcing = Date()
        #expect(t.within(3) { !t.routes.isEmpty } != nil, "enforcing again, yet no route at the router")
        print("flowspec mode test: the route was back \(since(enforcing)) after observe off")
        #expect(daemon.events.filter { $0.kind == "filter-mode" }.count == 2)

        // What `holon rules release` does: the rules leave the filter's table.
        _ = try Dataplane.open(t.target).update { $0.filter { !ids.contains($0.id) } }
        let released = Date()
        #expect(t.within(3) { t.routes.isEmpty } != nil, "released, yet the router keeps \(t.routes.map(\.gobgpMatch))")
        print("flowspec release test: the route left the router \(since(released)) after the release")
        #expect(daemon.events.contains { $0.kind == "removed" && $0.ids == ids })
        // The flood goes on; its match is not derived again, so no route comes back.
        #expect(t.within(1.5) { !t.routes.isEmpty } == nil, "a route came back: \(t.routes.map(\.gobgpMatch))")
        #expect(Date().timeIntervalSince(t.started) < 22, "all of it during the flood")
        #expect(daemon.stop(SIGTERM) == 0)
    }

    /// Holon is killed with a route announced, and its rule leaves the filter while no holon
    /// runs (`holon rules release`, or its TTL). The next run withdraws the route: it stayed at
    /// every router, discarding, with no rule behind it and no one to withdraw it.
    @Test(.timeLimitAfterTurn(minutes: 4)) func theNextRunWithdrawsWhatAKilledOneLeft() throws {
        let t = try FlowspecBed("bk")
        defer { t.close() }
        let ledger = AnnouncedLedger.path(for: "gobgp-127.0.0.1-\(t.pair.speakerAPI)")
        defer { unlink(ledger) }
        try t.start()
        let sender = t.sendFlood("bgp-kill", seed: 7, flood: 4, after: 5)
        defer { while !sender.isFinished { usleep(20_000) } }
        let daemon = t.daemon

        let ids = try t.floodRouteArrived(by: 10)
        #expect(FileManager.default.fileExists(atPath: ledger), "the ledger holds what is announced")
        daemon.kill(SIGKILL)
        _ = try Dataplane.open(t.target).update { $0.filter { !ids.contains($0.id) } }
        usleep(500_000)
        #expect(!t.routes.isEmpty, "killed, holon withdrew nothing: the route stays")
        try daemon.start(["run", "--config", t.config])
        let restarted = Date()
        #expect(t.within(4) { t.routes.isEmpty } != nil, "the next run left \(t.routes.map(\.gobgpMatch)) at the router")
        print("flowspec kill test: the route left the router \(String(format: "%.1f", Date().timeIntervalSince(restarted))) s after the restart")
        // The router may hear of it before the daemon's log line reaches this test.
        #expect(t.within(3) { daemon.events.contains { $0.kind == "notice" && $0.detail == "flowspec-withdrawn" } } != nil)
        #expect(daemon.stop(SIGTERM) == 0)
        #expect(!FileManager.default.fileExists(atPath: ledger), "stopped with nothing announced, no ledger left")
    }

    /// gobgpd restarts mid-attack and forgets the routes Holon gave it: the run's check of the
    /// speaker's RIB (every 10 s) announces them again. They stayed lost while Holon reported
    /// them announced.
    @Test(.timeLimitAfterTurn(minutes: 4)) func aRestartedSpeakerGetsItsRoutesBack() throws {
        let t = try FlowspecBed("br")
        defer { t.close() }
        try t.start()
        let sender = t.sendFlood("bgp-restart", seed: 8, flood: 24)
        defer { while !sender.isFinished { usleep(20_000) } }
        let daemon = t.daemon
        _ = try t.floodRouteArrived(by: 10)
        try t.pair.restartSpeaker()
        let restarted = Date()
        #expect(t.within(5) { t.routes.isEmpty } != nil, "the router kept the route of a speaker that went away")
        #expect(t.pair.established(), "the session came back")
        #expect(t.within(15) { !t.routes.isEmpty } != nil, "the route never came back to the router")
        print("flowspec speaker test: the route was back at the router \(String(format: "%.1f", Date().timeIntervalSince(restarted))) s after gobgpd restarted")
        #expect(daemon.events.contains { $0.kind == "notice" && $0.detail == "flowspec-warning" })
        #expect(Date().timeIntervalSince(t.started) < 30, "during the flood")
        #expect(daemon.stop(SIGTERM) == 0)
    }
}

/// What a Flowspec test of the daemon stands on: a ``DaemonLab``, two gobgpd peered (Holon's
/// speaker and one standing for an edge router), and a `holon run` configuration for them.
final class FlowspecBed {
    let lab: DaemonLab
    let pair: GoBGPPair
    let router: GoBGPClient
    let config: String
    /// When the traffic started (``send(_:)``).
    private(set) var started = Date()

    var daemon: DaemonChild { lab.daemon }
    var target: DataplaneOptions { lab.target }
    /// The router's IPv4 Flowspec routes (none when it cannot be read).
    var routes: [FlowspecRule] { (try? router.rib(.ipv4)) ?? [] }

    /// `name`: two letters naming the test's lab, namespaces and scratch directory.
    init(_ name: String) throws {
        let tag = "\(getpid() % 100_000)"
        lab = try DaemonLab(.scratch(prefix: "holon-\(name)", tag: "\(name)\(tag)"), scratch: "holon-\(name)-\(tag)")
        do {
            pair = try GoBGPPair()
        } catch {
            lab.close()
            throw error
        }
        router = GoBGPClient(port: pair.routerAPI)
        config = lab.dir + "/holon.yaml"
        guard pair.established() else {
            close()
            throw FlowspecError("the two gobgpd did not peer")
        }
    }

    /// Writes the configuration and starts `holon run` with it.
    func start() throws {
        try """
        interfaces: [{name: \(target.interface), netns: \(lab.lab.topology.filterNamespace)}]
        protected: [198.51.100.0/24]
        run: {sample_every: 10, warmup: 3s, hold: 3s}
        http: {listen: "off"}
        log: json
        baseline: {directory: \(lab.dir)/baseline}
        bgp: {gobgp_api: "127.0.0.1:\(pair.speakerAPI)", max_announced: 8}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        try daemon.start(["run", "--config", config])
        usleep(700_000)
    }

    /// The scenario from the generator side, on a thread of its own; the clock starts now.
    func send(_ scenario: Scenario) -> Thread {
        let o = lab.generatorOptions
        started = Date()
        let sender = Thread { _ = try? TrafficGenerator(plan: .scenario(scenario), options: o).run() }
        sender.start()
        return sender
    }

    /// Normal traffic for 6 s, then a UDP flood at the protected victim for `flood` s, then
    /// `after` s of normal traffic again.
    func sendFlood(_ name: String, seed: UInt64, flood: Double, after: Double = 0) -> Thread {
        send(Scenario(name: name, seed: seed, phases: [
            ScenarioPhase(name: "learn", duration: 6, normalRate: 1_500),
            ScenarioPhase(name: "flood", duration: flood, normalRate: 1_500, attack: AttackSpec(kind: .udpFlood, rate: 15_000, victim: IPPrefix("198.51.100.10")!)),
        ] + (after > 0 ? [ScenarioPhase(name: "after", duration: after, normalRate: 1_500)] : [])))
    }

    /// The flood's route reached the router by `seconds` after the traffic started; the ids
    /// of the rules installed for it.
    func floodRouteArrived(by seconds: Double) throws -> [UInt32] {
        try #require(until(seconds) { !routes.isEmpty } != nil, "no route at the router; events: \(daemon.events.map { $0.detail ?? $0.kind })")
        return daemon.events.filter { $0.kind == "installed" }.flatMap(\.ids)
    }

    /// When `what` first held, polled every 20 ms until `seconds` after the traffic started.
    func until(_ seconds: Double, _ what: () -> Bool) -> Date? {
        while Date().timeIntervalSince(started) < seconds {
            if what() { return Date() }
            usleep(20_000)
        }
        return nil
    }

    /// The same, for the next `seconds` from now.
    func within(_ seconds: Double, _ what: () -> Bool) -> Date? {
        until(Date().timeIntervalSince(started) + seconds, what)
    }

    func close() {
        pair.stop()
        lab.close()
    }
}
