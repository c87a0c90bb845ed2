import Dataplane
import Foundation
import Generator
import Lab
import Packets
import TestSupport
import Testing
import Traffic

/// Issue 11 acceptance: two interfaces protected at once by one `holon run --config` (the
/// daemon binary), each attacked in turn: each attack's rule goes into its own interface's
/// filter only.
@Suite("Two interfaces, one daemon (root)", .ownThread, .serialized,
       .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: Tools.holon)))
struct TwoInterfacesTests {
    @Test func eachAttacksRuleStaysOnItsInterface() throws {
        let labs = [Lab(.scratch(prefix: "holon-2if", tag: "a\(getpid() % 10_000)")),
                    Lab(.scratch(prefix: "holon-2if", tag: "b\(getpid() % 10_000)"))]
        for l in labs { try? l.down(); try l.up() }
        let targets = labs.map { DataplaneOptions.protecting(interface: $0.topology.filterInterface, namespace: $0.topology.filterNamespace) }
        let dir = NSTemporaryDirectory() + "holon-2if-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            for t in targets { _ = try? Dataplane.detach(t, force: true, forgetRules: true) }
            for l in labs { try? l.down() }
            try? FileManager.default.removeItem(atPath: dir)
        }
        let config = dir + "/holon.yaml"
        try """
        interfaces:
        \(labs.map { "  - {name: \($0.topology.filterInterface), netns: \($0.topology.filterNamespace)}" }.joined(separator: "\n"))
        run: {sample_every: 10, warmup: 3s, hold: 2s, duration: 24s}
        http: {listen: "off"}
        log: json
        baseline: {directory: \(dir)/baseline}
        """.write(toFile: config, atomically: true, encoding: .utf8)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: Tools.holon)
        p.arguments = ["run", "--config", config]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }

        // Lab A is attacked at 8 s, lab B at 15 s; both carry normal traffic throughout.
        let victim = IPPrefix("198.51.100.10")!
        let plans: [[ScenarioPhase]] = [
            [ScenarioPhase(name: "n", duration: 8, normalRate: 2_000),
             ScenarioPhase(name: "udp", duration: 3, normalRate: 2_000, attack: AttackSpec(kind: .udpFlood, rate: 20_000, victim: victim)),
             ScenarioPhase(name: "n", duration: 10, normalRate: 2_000)],
            [ScenarioPhase(name: "n", duration: 15, normalRate: 2_000),
             ScenarioPhase(name: "syn", duration: 3, normalRate: 2_000, attack: AttackSpec(kind: .synFlood, rate: 20_000, victim: victim)),
             ScenarioPhase(name: "n", duration: 3, normalRate: 2_000)],
        ]
        final class Errors: @unchecked Sendable {
            let lock = NSLock()
            var list: [String] = []
        }
        let failures = Errors()
        let senders = zip(labs, plans).map { lab, phases in
            Thread {
                var o = GeneratorOptions(interface: lab.topology.generatorInterface, namespace: lab.topology.generatorNamespace,
                                         engine: .sendmmsg, threads: 1)
                o.peer = lab.topology.filterAddress.split(separator: "/").first.map(String.init)
                do { _ = try TrafficGenerator(plan: .scenario(Scenario(name: "s", seed: 3, phases: phases)), options: o).run() } catch {
                    failures.lock.withLock { failures.list.append("\(error)") }
                }
            }
        }
        usleep(500_000)   // the daemon attaches both filters and starts its loops
        for s in senders { s.start() }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(failures.lock.withLock { failures.list }.isEmpty)
        #expect(p.terminationStatus == 0)

        let events = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let installed = events.filter { $0["event"] as? String == "installed" }
        let names = labs.map(\.topology.filterInterface)
        let onA = installed.filter { $0["interface"] as? String == names[0] }.flatMap { $0["rules"] as? [String] ?? [] }
        let onB = installed.filter { $0["interface"] as? String == names[1] }.flatMap { $0["rules"] as? [String] ?? [] }
        #expect(onA.contains { $0.contains("udp") }, "the UDP flood on \(names[0]) got its rule there: \(onA)")
        #expect(onB.contains { $0.contains("tcp") }, "the SYN flood on \(names[1]) got its rule there: \(onB)")
        #expect(!onA.contains { $0.contains("tcp") } && !onB.contains { $0.contains("udp") }, "no rule on the interface that was not attacked by it")
    }
}

