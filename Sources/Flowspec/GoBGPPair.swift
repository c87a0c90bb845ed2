import Foundation
import Spawn

/// Two `gobgpd` on loopback peering for IPv4 and IPv6 Flowspec: `speaker` stands for Holon's
/// own BGP speaker, `router` for an edge router that receives what it announces — the bench's
/// and the tests' network. Ports are its own (random, high); `stop()` ends both and removes
/// their files.
public final class GoBGPPair: @unchecked Sendable {
    public let speakerAPI: Int
    public let routerAPI: Int
    let dir: String
    var processes: [ChildProcess] = []

    public static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/gobgpd") && FileManager.default.isExecutableFile(atPath: "/usr/bin/gobgp")
    }

    public init() throws {
        let base = LoopbackPorts.pick(5, addresses: ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
        speakerAPI = base + 1
        routerAPI = base + 2
        let bgp = (base + 3, base + 4)
        dir = NSTemporaryDirectory() + "holon-gobgp-\(getpid())-\(base)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let sides = [("speaker", "127.0.0.2", 65001, bgp.0, "127.0.0.3", 65002, bgp.1, speakerAPI),
                     ("router", "127.0.0.3", 65002, bgp.1, "127.0.0.2", 65001, bgp.0, routerAPI)]
        for (name, me, asn, port, peer, peerAS, peerPort, api) in sides {
            let config = "\(dir)/\(name).toml"
            try """
            [global.config]
              as = \(asn)
              router-id = "\(me)"
              port = \(port)
              local-address-list = ["\(me)"]
            [[neighbors]]
              [neighbors.config]
                neighbor-address = "\(peer)"
                peer-as = \(peerAS)
              [neighbors.transport.config]
                local-address = "\(me)"
                remote-port = \(peerPort)
              [neighbors.timers.config]
                connect-retry = 1
              [[neighbors.afi-safis]]
                [neighbors.afi-safis.config]
                  afi-safi-name = "ipv4-flowspec"
              [[neighbors.afi-safis]]
                [neighbors.afi-safis.config]
                  afi-safi-name = "ipv6-flowspec"
            """.write(toFile: config, atomically: true, encoding: .utf8)
            processes.append(try Self.gobgpd(config: config, api: api))
        }
    }

    static func gobgpd(config: String, api: Int) throws -> ChildProcess {
        try ChildProcess("/usr/bin/gobgpd", ["-f", config, "--api-hosts", "127.0.0.1:\(api)", "-l", "warn"])
    }

    /// Ends the speaker and starts it again, empty (what a restart of gobgpd leaves: its own
    /// routes forgotten); the session comes back on its own.
    public func restartSpeaker() throws {
        processes[0].stop()
        processes[0] = try Self.gobgpd(config: "\(dir)/speaker.toml", api: speakerAPI)
    }

    /// Waits until the session is up (at most `seconds`).
    public func established(within seconds: Double = 45) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let out = try? GoBGPClient(port: routerAPI).run(["neighbor"]), String(decoding: out, as: UTF8.self).contains("Establ") { return true }
            usleep(200_000)
        }
        return false
    }

    /// Ends the speaker alone (Holon's side gone: the router withdraws what it learned).
    public func stopSpeaker() {
        processes.first?.stop()
    }

    public func stop() {
        for p in processes { p.stop() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    deinit { stop() }
}
