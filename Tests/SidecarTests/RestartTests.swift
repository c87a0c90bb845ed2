import Dataplane
import Detection
import Foundation
import Generator
import Lab
import Rules
import Sidecar
import TestSupport
import Testing
import Traffic

/// Issue 10 §1 and §3 on a private lab: a sidecar started after traffic learns nothing from the
/// samples that waited in the ring, and one whose filter is detached under it follows the new
/// filter (sampling, its rules) and says so.
@Suite("Sidecar restarts (root)", .ownThread, .serialized, .enabled(if: geteuid() == 0))
struct RestartTests {
    final class Box: @unchecked Sendable {
        let lock = NSLock()
        var events: [SidecarEvent] = []
        var stats = SidecarStats()
        var error: (any Error)?
        var stopped = false
        var done = false
        func add(_ e: SidecarEvent) { lock.withLock { events.append(e) } }
        var snapshot: [SidecarEvent] { lock.withLock { events } }
        var notices: [String] { snapshot.compactMap { if case .notice(let k, _) = $0 { k } else { nil } } }
    }

    struct Rig {
        let lab: Lab
        let options: DataplaneOptions
        let dataplane: Dataplane

        init(_ name: String) throws {
            let tag = "hr\(getpid() % 10_000)\(name)"
            lab = Lab(.scratch(prefix: "holon-rtest", tag: tag))
            try? lab.down()
            try lab.up()
            options = DataplaneOptions(pinDirectory: "/sys/fs/bpf/holon-rtest-\(tag)", namespace: lab.topology.filterNamespace,
                                       interface: lab.topology.filterInterface, stateDirectory: NSTemporaryDirectory() + "holon-rtest-\(tag)")
            _ = try? Dataplane.detach(options, force: true, forgetRules: true)
            dataplane = try Dataplane.attach(options).0
        }

        func close() {
            _ = try? Dataplane.detach(options, force: true, forgetRules: true)
            try? lab.down()
            try? FileManager.default.removeItem(atPath: options.stateDirectory)
        }

        func send(seconds: Double, rate: Double) throws {
            let s = Scenario(name: "n", seed: 5, phases: [ScenarioPhase(name: "normal", duration: seconds, normalRate: rate)])
            var o = GeneratorOptions(interface: lab.topology.generatorInterface, namespace: lab.topology.generatorNamespace,
                                     engine: .sendmmsg, threads: 1)
            o.peer = lab.topology.filterAddress.split(separator: "/").first.map(String.init)
            _ = try TrafficGenerator(plan: .scenario(s), options: o).run()
        }

        func start(_ config: SidecarConfig, _ box: Box) -> Thread {
            let dp = dataplane
            let t = Thread {
                let sidecar = Sidecar(dataplane: dp, config: config)
                do { try sidecar.run(until: { box.lock.withLock { box.stopped } }) { box.add($0) } } catch { box.error = error }
                box.lock.withLock { box.stats = sidecar.stats; box.done = true }
            }
            t.start()
            return t
        }

        /// A rule of the loop's (a TTL) and an operator's, into the filter.
        func addTwoRules() throws -> (mine: Rule, operatorRule: Rule) {
            let mine = Rule(id: RuleOwnership.sidecarBase + 1, match: [.equals(.proto, 17), .equals(.dstPort, 7)], action: .drop,
                            priority: 100, ttlSeconds: 600, createdAt: UInt64(Date().timeIntervalSince1970 * 1e9))
            let operatorRule = Rule(id: 5, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop, priority: 10)
            try dataplane.add([mine, operatorRule])
            return (mine, operatorRule)
        }

        func stop(_ box: Box) {
            box.lock.withLock { box.stopped = true }
            while !box.lock.withLock({ box.done }) { usleep(10_000) }
        }
    }

    /// The repro: traffic, no sidecar; later a sidecar starts on an idle link. It used to
    /// calibrate at once from the old samples and open an incident on nothing.
    @Test func staleSamplesAreNotLearned() throws {
        let rig = try Rig("stale")
        defer { rig.close() }
        try rig.dataplane.setSampleEvery(4)
        try rig.send(seconds: 3, rate: 3_000)
        usleep(1_000_000)
        var config = SidecarConfig()
        config.sampleEvery = 4
        config.detector.warmup = .seconds(2)
        let box = Box()
        _ = rig.start(config, box)
        usleep(3_000_000)
        rig.stop(box)
        if let e = box.error { throw e }
        #expect(box.stats.stale > 500, "the ring held ~2,000 old samples: \(box.stats.stale) seen as stale")
        // A stray frame on the idle link (neighbour discovery, a late retransmit) is a fresh
        // sample; what matters is that the ~2,000 old ones are not, and nothing is learned.
        #expect(box.stats.samples < 50, "\(box.stats.samples) samples counted on an idle link")
        #expect(!box.snapshot.contains { if case .calibrated = $0 { true } else { false } })
        #expect(!box.snapshot.contains { if case .opened = $0 { true } else { false } })
    }

    /// `holon filter detach --force; holon filter attach` under a running sidecar: it notices,
    /// sets its sampling on the new filter and installs its rules again.
    @Test func followsAFilterAttachedAnew() throws {
        let rig = try Rig("follow")
        defer { rig.close() }
        let mine = try rig.addTwoRules().mine
        var config = SidecarConfig()
        config.sampleEvery = 7
        let box = Box()
        _ = rig.start(config, box)
        usleep(500_000)
        #expect(throws: DataplaneError.self) { try Dataplane.detach(rig.options) }
        try Dataplane.detach(rig.options, force: true, forgetRules: true)
        usleep(1_500_000)
        #expect(box.notices.contains("filter-lost"))
        let (fresh, _) = try Dataplane.attach(rig.options)
        #expect(fresh.rules.isEmpty)
        usleep(1_500_000)
        rig.stop(box)
        if let e = box.error { throw e }
        #expect(box.notices.contains("filter-reattached"))
        let now = try Dataplane.open(rig.options)
        #expect(try now.verifiedRules().map(\.id) == [mine.id], "the sidecar's rule is back; the forgotten operator rule is not")
        #expect(try now.settings().sampleEvery == 7)
    }

    /// The daemon's interface deleted and created again (a driver reset, a VLAN recreated):
    /// the link went with it, the maps stayed pinned. The loop waited 10 s for someone to
    /// attach a filter and stopped; it now attaches the filter again itself when the interface
    /// is back, past any grace, with the table and sampling it had.
    @Test func theDaemonAttachesItsFilterAgainWhenItsInterfaceReturns() throws {
        let rig = try Rig("ifback")
        defer { rig.close() }
        let (mine, operatorRule) = try rig.addTwoRules()
        var config = SidecarConfig()
        config.sampleEvery = 7
        config.attachAgainAs = .native
        config.reattachGrace = .seconds(1)
        let box = Box()
        _ = rig.start(config, box)
        usleep(500_000)
        let t = rig.lab.topology
        _ = try Tools.run("ip", ["-n", t.filterNamespace, "link", "del", t.filterInterface])
        usleep(3_000_000)   // three times the grace
        #expect(box.error == nil, "\(String(describing: box.error))")
        #expect(box.snapshot.contains { if case .notice("filter-lost", let m) = $0 { m.contains("went away") } else { false } }, "\(box.notices)")
        _ = try Tools.run("ip", ["-n", t.filterNamespace, "link", "add", t.filterInterface, "type", "veth", "peer", "name", t.generatorInterface,
                                 "netns", t.generatorNamespace])
        _ = try Tools.run("ip", ["-n", t.filterNamespace, "link", "set", t.filterInterface, "up"])
        let deadline = Date().addingTimeInterval(10)
        while !box.notices.contains("filter-reattached") && Date() < deadline { usleep(100_000) }
        rig.stop(box)
        if let e = box.error { throw e }
        #expect(box.notices.contains("filter-reattached"), "\(box.notices)")
        let now = try Dataplane.open(rig.options)
        #expect(now.stillAttached())
        #expect(try now.verifiedRules().map(\.id).sorted() == [operatorRule.id, mine.id])
        #expect(try now.settings().sampleEvery == 7)
    }

    /// An operator's detach is not the interface going: the daemon does not undo it, and stops
    /// after the grace as before.
    @Test func aDetachUnderTheDaemonIsNotUndone() throws {
        let rig = try Rig("detach")
        defer { rig.close() }
        var config = SidecarConfig()
        config.attachAgainAs = .native
        config.reattachGrace = .seconds(1)
        let box = Box()
        _ = rig.start(config, box)
        usleep(500_000)
        try Dataplane.detach(rig.options, force: true)
        let deadline = Date().addingTimeInterval(10)
        while !box.lock.withLock({ box.done }) && Date() < deadline { usleep(100_000) }
        rig.stop(box)
        #expect("\(String(describing: box.error))".contains("detached under holon run and not attached again"), "\(String(describing: box.error))")
        #expect(try Dataplane.status(rig.options).attached == false)
    }

    /// Another version's program put on the filter under a running sidecar (an upgrade's
    /// `holon filter attach`): the sidecar says so within a heartbeat, once, and says so again
    /// when this version's program is back.
    @Test func saysWhenAnotherVersionsProgramTakesTheFilterOver() throws {
        let rig = try Rig("progch")
        defer { rig.close() }
        let box = Box()
        _ = rig.start(SidecarConfig(), box)
        usleep(1_500_000)
        #expect(!box.notices.contains("filter-program-changed"), "this version's program: \(box.notices)")
        let other = try #require(ForeignProgram.onLink(pinnedIn: rig.options.pinDirectory), "another program on the link: errno \(errno)")
        defer { close(other) }
        // Up to 10 s for a heartbeat (1 s) on a loaded machine, then one more to see it said once.
        func said(_ kind: String) -> Int { box.notices.filter { $0 == kind }.count }
        func waitFor(_ kind: String) {
            let deadline = Date().addingTimeInterval(10)
            while said(kind) == 0 && Date() < deadline { usleep(100_000) }
            usleep(1_500_000)
        }
        waitFor("filter-program-changed")
        #expect(said("filter-program-changed") == 1, "\(box.notices)")
        _ = try Dataplane.attach(rig.options)   // this version's program back
        waitFor("filter-program-restored")
        rig.stop(box)
        if let e = box.error { throw e }
        #expect(said("filter-program-restored") == 1, "\(box.notices)")
    }
}
