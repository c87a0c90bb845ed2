import Dataplane
import Foundation
import Generator
import Glibc
import Lab
import Packets
import TestSupport
import Testing
import Traffic

/// A reload reads the configuration file again; what the command line set stays as it was set.
@Suite("The daemon: a reload keeps the command line's flags (root)", .ownThread, .serialized,
       .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: Tools.holon)))
struct ReloadKeepsFlagsTests {
    /// `holon run --config F --bgp B`, B saying `observe: true` (log routes, announce nothing),
    /// F without a bgp section. A SIGHUP put F's (none) in place of B's, and the announcer sent
    /// the routes of the rules it held to the routers. Flowspec goes on observing, and the
    /// reload says which changed keys wait for the next start.
    @Test(.timeLimitAfterTurn(minutes: 3)) func aReloadLeavesFlowspecObservingAsTheBGPFileSays() throws {
        let tag = "\(getpid() % 100_000)"
        let bed = try DaemonLab(.scratch(prefix: "holon-d6", tag: "d6\(tag)"), scratch: "holon-d6-\(tag)")
        defer { bed.close() }
        let daemon = bed.daemon
        let (path, bgp, feed) = ("\(bed.dir)/holon.yaml", "\(bed.dir)/bgp.yaml", "\(bed.dir)/exabgp.cmd")
        func config(hold: Int) throws {
            try """
            interfaces: [{name: \(bed.target.interface), netns: \(bed.lab.topology.filterNamespace)}]
            protected: [198.51.100.0/24]
            run: {sample_every: 10, warmup: 3s, hold: \(hold)s}
            http: {listen: "off"}
            log: json
            baseline: {directory: \(bed.dir)/baseline}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try config(hold: 30)
        try "exabgp_feed: \(feed)\nobserve: true\n".write(toFile: bgp, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: feed, contents: nil)
        func waitFor(_ kind: String, _ seconds: Double) -> DaemonChild.Event? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let e = daemon.events.first(where: { $0.detail == kind }) { return e }
                usleep(50_000)
            }
            return nil
        }

        try daemon.start(["run", "--config", path, "--bgp", bgp])
        usleep(700_000)
        let o = bed.generatorOptions
        let scenario = Scenario(name: "reload-bgp", seed: 12, phases: [
            ScenarioPhase(name: "learn", duration: 5, normalRate: 1_500),
            ScenarioPhase(name: "flood", duration: 4, normalRate: 1_500,
                          attack: AttackSpec(kind: .udpFlood, rate: 15_000, victim: IPPrefix("198.51.100.10")!)),
        ])
        let sender = Thread { _ = try? TrafficGenerator(plan: .scenario(scenario), options: o).run() }
        sender.start()
        defer { while !sender.isFinished { usleep(20_000) } }
        try #require(waitFor("flowspec-observed", 15) != nil, "no rule observed: \(daemon.events.map { $0.detail ?? $0.kind })")

        try config(hold: 20)
        daemon.kill(SIGHUP)
        let reloaded = waitFor("reloaded", 10)
        #expect(reloaded?.message?.contains("flowspec observe on") == true, "\(reloaded?.message ?? "no reload notice")")
        #expect(reloaded?.message?.contains("changed, applied at the next start: run.hold") == true, "\(reloaded?.message ?? "")")
        usleep(1_500_000)
        let sent = (try? String(contentsOfFile: feed, encoding: .utf8)) ?? ""
        #expect(!sent.contains("announce"), "a reload made Flowspec announce: \(sent)")
        #expect(!daemon.events.contains { $0.detail == "flowspec-announced" })
        #expect(daemon.stop(SIGTERM) == 0)
    }
}
