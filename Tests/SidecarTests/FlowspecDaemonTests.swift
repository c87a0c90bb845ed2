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
        let tag = "\(getpid() % 100_000)"
        let bed = try DaemonLab(.scratch(prefix: "holon-bg", tag: "bg\(tag)"), scratch: "holon-bg-\(tag)")
        defer { bed.close() }
        let (lab, target, dir, daemon) = (bed.lab, bed.target, bed.dir, bed.daemon)
        let pair = try GoBGPPair()
        defer { pair.stop() }
        try #require(pair.established(), "the two gobgpd peered")
        took("lab and peering")
        let router = GoBGPClient(port: pair.routerAPI)
        let config = dir + "/holon.yaml"
        try """
        interfaces: [{name: \(target.interface), netns: \(lab.topology.filterNamespace)}]
        protected: [198.51.100.0/24]
        run: {sample_every: 10, warmup: 3s, hold: 3s}
        http: {listen: "off"}
        log: json
        baseline: {directory: \(dir)/baseline}
        bgp: {gobgp_api: "127.0.0.1:\(pair.speakerAPI)", max_announced: 8}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        try daemon.start(["run", "--config", config])
        usleep(700_000)
        took("daemon start")

        let victim = IPPrefix("198.51.100.10")!
        let scenario = Scenario(name: "bgp", seed: 5, phases: [
            ScenarioPhase(name: "learn", duration: 6, normalRate: 1_500),
            ScenarioPhase(name: "flood", duration: 4, normalRate: 1_500, attack: AttackSpec(kind: .udpFlood, rate: 15_000, victim: victim)),
            ScenarioPhase(name: "quiet", duration: 7, normalRate: 1_500),
            ScenarioPhase(name: "flood-again", duration: 5, normalRate: 1_500, attack: AttackSpec(kind: .udpFlood, rate: 15_000, victim: victim)),
        ])
        let o = bed.generatorOptions
        let t0 = Date()
        let sender = Thread { _ = try? TrafficGenerator(plan: .scenario(scenario), options: o).run() }
        sender.start()
        func at(_ s: Double) { while Date().timeIntervalSince(t0) < s { usleep(10_000) } }
        func routes() -> [FlowspecRule] { (try? router.rib(.ipv4)) ?? [] }
        func until(_ s: Double, _ what: () -> Bool) -> Date? {
            while Date().timeIntervalSince(t0) < s {
                if what() { return Date() }
                usleep(20_000)
            }
            return nil
        }

        // The flood's rule, installed in XDP, reaches the router: inside the protected network,
        // more than a destination.
        let arrived = until(10) { !routes().isEmpty }
        try #require(arrived != nil, "no route at the router; events: \(daemon.events.map { $0.detail ?? $0.kind })")
        let installed = try #require(daemon.events.first { $0.kind == "installed" })
        #expect(arrived!.timeIntervalSince(installed.at) < 2, "at the router \(arrived!.timeIntervalSince(installed.at)) s after XDP")
        for r in routes() {
            #expect(r.destination.map { IPPrefix("198.51.100.0/24")!.covers($0) } == true, "\(r.gobgpMatch)")
            #expect(r.components.count > 1)
        }
        let announcedAt = Date().timeIntervalSince(t0)
        #expect(until(announcedAt + 3) { daemon.events.contains { $0.detail == "flowspec-announced" } } != nil)

        // The flood over, the rule is held as a rate limit: the router's route says so (it kept
        // discarding what the filter let through at a trickle) …
        let heldAtRouter = until(16.5) { routes().contains { $0.action != .discard } }
        #expect(heldAtRouter != nil, "the held rule's route still discards: \(routes().map(\.action))")
        // … and it retires after its hold: withdrawn from the router too.
        let retired = until(16.5) { routes().isEmpty }
        #expect(retired != nil, "still at the router after the rule retired: \(routes().map(\.gobgpMatch))")
        // The router may hear of it before the daemon's log line reaches this test.
        let withdrawnAt = Date().timeIntervalSince(t0)
        #expect(until(withdrawnAt + 3) { daemon.events.contains { $0.detail == "flowspec-withdrawn" } } != nil)

        // Again, and holon stops in the middle: the router lets go of it.
        let again = until(21) { !routes().isEmpty }
        #expect(again != nil, "the second flood's rule never reached the router")
        #expect(daemon.stop(SIGTERM) == 0)
        let stopped = Date().timeIntervalSince(t0)
        #expect(until(stopped + 3) { routes().isEmpty } != nil, "holon stopped, yet the router keeps \(routes().map(\.gobgpMatch))")
        while !sender.isFinished { usleep(20_000) }
        took("traffic")
    }

    /// Mid-attack, an operator switches the filter to observe (`holon filter observe on`) and
    /// back, then releases the loop's rule (`holon rules release`: the rule leaves the table).
    /// The router follows each: the route leaves, comes back, and leaves. Before, it stayed
    /// announced through all three until holon stopped.
    @Test(.timeLimitAfterTurn(minutes: 4)) func theRouterFollowsObserveModeAndARelease() throws {
        let tag = "\(getpid() % 100_000)"
        let bed = try DaemonLab(.scratch(prefix: "holon-bh", tag: "bh\(tag)"), scratch: "holon-bh-\(tag)")
        defer { bed.close() }
        let (lab, target, dir, daemon) = (bed.lab, bed.target, bed.dir, bed.daemon)
        let pair = try GoBGPPair()
        defer { pair.stop() }
        try #require(pair.established(), "the two gobgpd peered")
        let router = GoBGPClient(port: pair.routerAPI)
        let config = dir + "/holon.yaml"
        try """
        interfaces: [{name: \(target.interface), netns: \(lab.topology.filterNamespace)}]
        protected: [198.51.100.0/24]
        run: {sample_every: 10, warmup: 3s, hold: 3s}
        http: {listen: "off"}
        log: json
        baseline: {directory: \(dir)/baseline}
        bgp: {gobgp_api: "127.0.0.1:\(pair.speakerAPI)", max_announced: 8}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        try daemon.start(["run", "--config", config])
        usleep(700_000)

        let scenario = Scenario(name: "bgp-release", seed: 6, phases: [
            ScenarioPhase(name: "learn", duration: 6, normalRate: 1_500),
            ScenarioPhase(name: "flood", duration: 16, normalRate: 1_500, attack: AttackSpec(kind: .udpFlood, rate: 15_000, victim: IPPrefix("198.51.100.10")!)),
        ])
        let o = bed.generatorOptions
        let t0 = Date()
        let sender = Thread { _ = try? TrafficGenerator(plan: .scenario(scenario), options: o).run() }
        sender.start()
        defer { while !sender.isFinished { usleep(20_000) } }
        func routes() -> [FlowspecRule] { (try? router.rib(.ipv4)) ?? [] }
        func until(_ s: Double, _ what: () -> Bool) -> Bool {
            while Date().timeIntervalSince(t0) < s {
                if what() { return true }
                usleep(20_000)
            }
            return false
        }

        func since(_ t: Date) -> String { String(format: "%.1f s", Date().timeIntervalSince(t)) }
        try #require(until(11) { !routes().isEmpty }, "no route at the router; events: \(daemon.events.map { $0.detail ?? $0.kind })")
        let ids = daemon.events.filter { $0.kind == "installed" }.flatMap(\.ids)
        try #require(!ids.isEmpty)

        // What `holon filter observe on` and `off` do: the filter's mode, from another process.
        try Dataplane.open(target).setObserve(true)
        let observing = Date()
        #expect(until(Date().timeIntervalSince(t0) + 3) { routes().isEmpty }, "the filter observes, yet the router keeps \(routes().map(\.gobgpMatch))")
        print("flowspec mode test: the route left the router \(since(observing)) after observe on")
        try Dataplane.open(target).setObserve(false)
        let enforcing = Date()
        #expect(until(Date().timeIntervalSince(t0) + 3) { !routes().isEmpty }, "enforcing again, yet no route at the router")
        print("flowspec mode test: the route was back \(since(enforcing)) after observe off")
        #expect(daemon.events.filter { $0.kind == "filter-mode" }.count == 2)

        // What `holon rules release` does: the rules leave the filter's table.
        _ = try Dataplane.open(target).update { $0.filter { !ids.contains($0.id) } }
        let released = Date()
        #expect(until(Date().timeIntervalSince(t0) + 3) { routes().isEmpty }, "released, yet the router keeps \(routes().map(\.gobgpMatch))")
        print("flowspec release test: the route left the router \(since(released)) after the release")
        #expect(daemon.events.contains { $0.kind == "removed" && $0.ids == ids })
        // The flood goes on; its match is not derived again, so no route comes back.
        #expect(!until(Date().timeIntervalSince(t0) + 1.5) { !routes().isEmpty }, "a route came back: \(routes().map(\.gobgpMatch))")
        #expect(Date().timeIntervalSince(t0) < 22, "all of it during the flood")
        #expect(daemon.stop(SIGTERM) == 0)
    }

    /// Holon is killed with a route announced, and its rule leaves the filter while no holon
    /// runs (`holon rules release`, or its TTL). The next run withdraws the route: it stayed at
    /// every router, discarding, with no rule behind it and no one to withdraw it.
    @Test(.timeLimitAfterTurn(minutes: 4)) func theNextRunWithdrawsWhatAKilledOneLeft() throws {
        let tag = "\(getpid() % 100_000)"
        let bed = try DaemonLab(.scratch(prefix: "holon-bk", tag: "bk\(tag)"), scratch: "holon-bk-\(tag)")
        defer { bed.close() }
        let (lab, target, dir, daemon) = (bed.lab, bed.target, bed.dir, bed.daemon)
        let pair = try GoBGPPair()
        defer { pair.stop() }
        try #require(pair.established(), "the two gobgpd peered")
        let router = GoBGPClient(port: pair.routerAPI)
        let config = dir + "/holon.yaml"
        try """
        interfaces: [{name: \(target.interface), netns: \(lab.topology.filterNamespace)}]
        protected: [198.51.100.0/24]
        run: {sample_every: 10, warmup: 3s, hold: 3s}
        http: {listen: "off"}
        log: json
        baseline: {directory: \(dir)/baseline}
        bgp: {gobgp_api: "127.0.0.1:\(pair.speakerAPI)", max_announced: 8}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let ledger = AnnouncedLedger.path(for: "gobgp-127.0.0.1-\(pair.speakerAPI)")
        defer { unlink(ledger) }
        try daemon.start(["run", "--config", config])
        usleep(700_000)

        let scenario = Scenario(name: "bgp-kill", seed: 7, phases: [
            ScenarioPhase(name: "learn", duration: 6, normalRate: 1_500),
            ScenarioPhase(name: "flood", duration: 4, normalRate: 1_500, attack: AttackSpec(kind: .udpFlood, rate: 15_000, victim: IPPrefix("198.51.100.10")!)),
            ScenarioPhase(name: "after", duration: 5, normalRate: 1_500),
        ])
        let o = bed.generatorOptions
        let t0 = Date()
        let sender = Thread { _ = try? TrafficGenerator(plan: .scenario(scenario), options: o).run() }
        sender.start()
        defer { while !sender.isFinished { usleep(20_000) } }
        func routes() -> [FlowspecRule] { (try? router.rib(.ipv4)) ?? [] }
        func until(_ s: Double, _ what: () -> Bool) -> Bool {
            while Date().timeIntervalSince(t0) < s {
                if what() { return true }
                usleep(20_000)
            }
            return false
        }

        try #require(until(10) { !routes().isEmpty }, "no route at the router; events: \(daemon.events.map { $0.detail ?? $0.kind })")
        let ids = daemon.events.filter { $0.kind == "installed" }.flatMap(\.ids)
        #expect(FileManager.default.fileExists(atPath: ledger), "the ledger holds what is announced")
        daemon.kill(SIGKILL)
        _ = try Dataplane.open(target).update { $0.filter { !ids.contains($0.id) } }
        usleep(500_000)
        #expect(!routes().isEmpty, "killed, holon withdrew nothing: the route stays")
        try daemon.start(["run", "--config", config])
        let restarted = Date()
        #expect(until(Date().timeIntervalSince(t0) + 4) { routes().isEmpty }, "the next run left \(routes().map(\.gobgpMatch)) at the router")
        print("flowspec kill test: the route left the router \(String(format: "%.1f", Date().timeIntervalSince(restarted))) s after the restart")
        // The router may hear of it before the daemon's log line reaches this test.
        #expect(until(Date().timeIntervalSince(t0) + 3) { daemon.events.contains { $0.kind == "notice" && $0.detail == "flowspec-withdrawn" } })
        #expect(daemon.stop(SIGTERM) == 0)
        #expect(!FileManager.default.fileExists(atPath: ledger), "stopped with nothing announced, no ledger left")
    }
}
