import ControlPlane
import Dataplane
import Foundation
// Through ControlPlane's own dependencies: private labs.
import Lab
import Packets
import TestSupport
import Testing

/// The API as `holon run --config` serves it (the daemon binary, two interfaces in private labs
/// `holon-cpd-*`): the allowlist starts as the configuration's, mode and allowlist changes reach
/// both filters, a reload puts the configuration's allowlist back, changes need the token.
@Suite("Control plane: the daemon's API (root)", .ownThread, .serialized,
       .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: Tools.holon)))
struct DaemonAPITests {
    func call(_ port: Int, _ method: String, _ path: String, _ body: String? = nil, token: String? = "t0ken-for-the-api-test") throws -> RawHTTP.Answer {
        try RawHTTP.request(port: port, method, path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:], body: body)
    }

    func object(_ body: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
    }

    // Five minutes: a turn among the blocking suites (.ownThread) may come late.
    @Test(.timeLimitAfterTurn(minutes: 5)) func modeAndAllowlistReachEveryInterface() async throws {
        try await offPool {
            let labs = [Lab(.scratch(prefix: "holon-cpd", tag: "d\(getpid() % 10_000)a")),
                        Lab(.scratch(prefix: "holon-cpd", tag: "d\(getpid() % 10_000)b"))]
            for l in labs { try? l.down(); try l.up() }
            let targets = labs.map { DataplaneOptions.protecting(interface: $0.topology.filterInterface, namespace: $0.topology.filterNamespace) }
            let dir = NSTemporaryDirectory() + "holon-cpd-\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer {
                for t in targets { _ = try? Dataplane.detach(t, force: true, forgetRules: true) }
                for l in labs { try? l.down() }
                try? FileManager.default.removeItem(atPath: dir)
                // What the daemon's loops kept of their rules (`/run/holon/NAME.rules.sidecar`).
                for t in targets {
                    let name = URL(fileURLWithPath: t.pinDirectory).lastPathComponent
                    try? FileManager.default.removeItem(atPath: "\(t.stateDirectory)/\(name).rules.sidecar")
                }
            }
            let port = 20_000 + Int(getpid() % 20_000)
            let config = dir + "/holon.yaml"
            try """
            interfaces:
            \(labs.map { "  - {name: \($0.topology.filterInterface), netns: \($0.topology.filterNamespace)}" }.joined(separator: "\n"))
            allowlist: [192.0.2.53]
            run: {duration: 30s, sample_every: 1}
            http: {listen: "127.0.0.1:\(port)", token: t0ken-for-the-api-test}
            log: json
            baseline: {directory: \(dir)/baseline}
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Tools.holon)
            p.arguments = ["run", "--config", config]
            p.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            p.standardError = errors
            try p.run()
            defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
            var up = false
            for _ in 0..<100 where !up && p.isRunning {
                usleep(100_000)
                up = (try? call(port, "GET", "/api/mode"))?.status == 200
            }
            if !up {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                let why = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                try #require(up, "holon run answers on \(port): \(why)")
            }

            #expect(object(try call(port, "GET", "/api/allowlist").body)["prefixes"] as? [String] == ["192.0.2.53/32"], "the configuration's")
            #expect(try call(port, "PUT", "/api/mode", #"{"observe": true}"#, token: nil).status == 401)
            #expect(try call(port, "PUT", "/api/mode", #"{"observe": true}"#).status == 200)
            for t in targets { #expect(try Dataplane.open(t).settings().observe, "\(t.interface) observes") }
            let put = try call(port, "PUT", "/api/allowlist", #"{"prefixes": ["203.0.113.0/24"]}"#)
            #expect(put.status == 200, "\(put.body)")
            #expect(object(try call(port, "GET", "/api/allowlist").body)["prefixes"] as? [String] == ["203.0.113.0/24"])
            // A reload applies the configuration's policy again, and the API says so.
            kill(p.processIdentifier, SIGHUP)
            var after: [String]?
            for _ in 0..<30 where after != ["192.0.2.53/32"] {
                usleep(100_000)
                after = object(try call(port, "GET", "/api/allowlist").body)["prefixes"] as? [String]
            }
            #expect(after == ["192.0.2.53/32"])
            for t in targets { #expect(try Dataplane.open(t).settings().observe == false, "the configuration's mode again") }

            // Both interfaces' filters, in the API and /metrics; a rule sent to the second goes
            // there alone (the API showed and changed the first interface's filter only).
            let second = targets[1].interface
            let add = try call(port, "POST", "/api/rules", #"{"rule": "(rule (= dst_port 19) (drop) :id 19)", "interface": "\#(second)"}"#)
            #expect(add.status == 201, "\(add.body)")
            #expect(try Dataplane.open(targets[1]).rules.map(\.id) == [19])
            #expect(try Dataplane.open(targets[0]).rules.isEmpty)
            let listed = (try? JSONSerialization.jsonObject(with: Data(try call(port, "GET", "/api/rules").body.utf8))) as? [[String: Any]]
            #expect(listed?.map { $0["interface"] as? String } == [second])
            let metrics = try call(port, "GET", "/metrics").body
            for t in targets { #expect(metrics.contains("holon_filter_packets_total{interface=\"\(t.interface)\"}"), "\(t.interface) in /metrics") }
            #expect(metrics.contains("holon_rule_hits_total{id=\"19\",interface=\"\(second)\",owner=\"operator\"} 0"))
            #expect(try call(port, "DELETE", "/api/rules/19").status == 200)

            // A capture of what the first interface's loop samples (UDP from its lab's far
            // side), taken from the loop (a `holon capture` beside it is refused).
            let first = labs[0].topology
            let sender = Process()
            sender.executableURL = URL(fileURLWithPath: Tools.holon)
            sender.arguments = ["generate", "--interface", first.generatorInterface, "--netns", first.generatorNamespace,
                                "--profile", "udp64", "--pps", "500", "--duration", "4"]
            sender.standardOutput = FileHandle.nullDevice
            sender.standardError = FileHandle.nullDevice
            try sender.run()
            defer { if sender.isRunning { sender.terminate() } }
            #expect(try call(port, "GET", "/api/capture?count=1").body.contains("say which with ?interface=NAME"))
            let pcap = dir + "/api.pcap"
            let got = try Tools.run("curl", ["-s", "-o", pcap, "-w", "%{http_code}", "-H", "Authorization: Bearer t0ken-for-the-api-test",
                                             "http://127.0.0.1:\(port)/api/capture?count=10&seconds=30&interface=\(targets[0].interface)"])
            #expect(got.out == "200", "\(got)")
            let reader = try PcapReader(path: pcap)
            var udp = 0, frames = 0
            while let packet = try reader.next() {
                frames += 1
                var f = PacketFeatures()
                if (try? PacketParser.parse(packet.bytes, into: &f)) != nil, f.proto == 17, f.dstPort == 9 { udp += 1 }
            }
            #expect(frames == 10 && udp >= 8, "\(udp) of the generator's frames among \(frames)")
            let beside = try Tools.run(Tools.holon, ["capture", "--out", dir + "/beside.pcap", "--count", "1",
                                                     "--interface", targets[0].interface, "--netns", first.filterNamespace])
            #expect(beside.status != 0 && beside.err.contains("GET /api/capture"), "\(beside)")
            #expect(try Dataplane.open(targets[1]).rules.isEmpty)
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
    }
}

