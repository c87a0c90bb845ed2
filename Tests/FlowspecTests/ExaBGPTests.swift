import Flowspec
import Foundation
import Packets
import Rules
import TestSupport
import Testing

/// Issue 16's second path: the same rules through ExaBGP's text API reach a gobgpd router.
@Suite("Flowspec through ExaBGP", .offPool, .serialized, .enabled(if: GoBGPPair.available && Tools.found("exabgp")))
struct ExaBGPTests {
    @Test(.timeLimit(.minutes(2))) func rulesReachAGoBGPRouter() throws {
        let base = LoopbackPorts.pick(3, addresses: ["127.0.0.1", "127.0.0.3"])
        let api = base + 1, bgpPort = base + 2
        let dir = NSTemporaryDirectory() + "holon-exabgp-\(getpid())-\(base)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let feed = dir + "/exabgp.cmd"
        try """
        [global.config]
          as = 65002
          router-id = "127.0.0.3"
          port = \(bgpPort)
          local-address-list = ["127.0.0.3"]
        [[neighbors]]
          [neighbors.config]
            neighbor-address = "127.0.0.5"
            peer-as = 65005
          [neighbors.transport.config]
            local-address = "127.0.0.3"
            passive-mode = true
          [[neighbors.afi-safis]]
            [neighbors.afi-safis.config]
              afi-safi-name = "ipv4-flowspec"
        """.write(toFile: dir + "/router.toml", atomically: true, encoding: .utf8)
        try """
        process holon {
          run /usr/bin/tail -n 0 -F \(feed);
          encoder text;
        }
        neighbor 127.0.0.3 {
          router-id 127.0.0.5;
          local-address 127.0.0.5;
          local-as 65005;
          peer-as 65002;
          connect \(bgpPort);
          family { ipv4 flow; }
          api { processes [ holon ]; }
        }
        """.write(toFile: dir + "/exabgp.conf", atomically: true, encoding: .utf8)
        let speaker = ExaBGPFeed(path: feed)
        try speaker.check()
        let router = Process(), exabgp = Process()
        router.executableURL = URL(fileURLWithPath: "/usr/bin/gobgpd")
        router.arguments = ["-f", dir + "/router.toml", "--api-hosts", "127.0.0.1:\(api)", "-l", "warn"]
        exabgp.executableURL = URL(fileURLWithPath: "/usr/sbin/exabgp")
        exabgp.arguments = [dir + "/exabgp.conf"]
        var env = ProcessInfo.processInfo.environment
        env["exabgp.daemon.drop"] = "false"
        env["exabgp.log.level"] = "WARNING"
        exabgp.environment = env
        for p in [router, exabgp] {
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
        }
        defer {
            // ExaBGP waits for its API process on SIGTERM, and `tail -F` never ends by itself.
            for p in [exabgp, router] where p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
            _ = try? Tools.run("pkill", ["-KILL", "-f", feed])
            try? FileManager.default.removeItem(atPath: dir)
        }
        func waitFor(_ seconds: Double, _ what: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if what() { return true }
                usleep(200_000)
            }
            return false
        }
        try #require(waitFor(30) { (try? Tools.run("gobgp", ["-p", String(api), "neighbor"]))?.out.contains("Establ") == true }, "ExaBGP peered")
        let rib = GoBGPClient(port: api)

        var g = RandomRules(state: 99)
        let rules = (0..<40).map { g.rule(id: UInt32($0)) }
        var sent: [(Rule, FlowspecRule)] = []
        for r in rules {
            let fs = try #require(FlowspecTranslator().translate(r, baseline: []).rule)
            sent.removeAll { $0.1.components == fs.components }
            sent.append((r, fs))
            try speaker.announce(fs)
        }
        #expect(waitFor(20) { ((try? rib.rib(.ipv4)) ?? []).count == sent.count }, "the router got \(((try? rib.rib(.ipv4)) ?? []).count) of \(sent.count)")
        // ExaBGP says a flag set one operator per flag: other bytes, the same test. So each
        // rule must have a received route that matches exactly the packets it matches.
        let received = try rib.rib(.ipv4)
        let packets = (0..<2000).map { _ in g.packet() }
        for (r, fs) in sent {
            let same = received.first { got in got.action == fs.action && got.destination == fs.destination && packets.allSatisfy { got.matches($0) == r.matches($0) } }
            #expect(same != nil, "no route at the router matches as \(r.text) does")
        }
        for (_, fs) in sent { try speaker.withdraw(fs) }
        #expect(waitFor(20) { (try? rib.rib(.ipv4))?.isEmpty == true }, "withdrawn through ExaBGP")
    }
}
