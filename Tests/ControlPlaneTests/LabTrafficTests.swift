import ControlPlane
import Foundation
// Through ControlPlane's own dependencies: a private lab and the interface counters.
import Generator
import Lab
import TestSupport
import Testing

/// The real lab traffic behind `/api/lab/generate`: a built-in scenario sent over a private
/// lab's veth pair (namespaces `holon-cptest-<tag>-gen|flt`, never the lab's own names),
/// counted where it arrives, stopped over HTTP. Root only.
@Suite("Control plane: lab traffic", .ownThread, .enabled(if: geteuid() == 0, "needs root (namespaces)"))
struct LabTrafficTests {
    func send(_ port: Int, _ method: String, _ body: String? = nil) async throws -> RawHTTP.Answer {
        try await offPool { try RawHTTP.request(port: port, method, "/api/lab/generate", body: body) }
    }

    func object(_ body: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
    }

    // Five minutes: a turn among the blocking suites (.ownThread) may come late.
    @Test(.timeLimitAfterTurn(minutes: 5)) func aScenarioArrivesAndStops() async throws {
        let lab = Lab(.scratch(prefix: "holon-cptest", tag: "cp\(getpid() % 10000)l"))
        try? lab.down()
        try lab.up()
        defer { try? lab.down() }
        let t = lab.topology
        let before = InterfaceCounters.read(interface: t.filterInterface, namespace: t.filterNamespace)
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, lab: LabGeneration(source: LabTrafficSender(lab: lab))) { port in
            let started = try await send(port, "POST", #"{"scenario": "udp-flood", "pps": 2000, "duration": 2.5}"#)
            #expect(started.status == 202, "\(started.body)")
            var status: [String: Any] = [:]
            for _ in 0..<150 {
                status = object(try await send(port, "GET").body)
                if status["running"] as? Bool == false { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status["ended"] as? String == "done", "\(status)")
            let sent = status["sent"] as? Int ?? 0
            // 2.5 s at 2,000 pps, in three stretches (each paced from its own start; a loaded
            // machine's sender catches up on what it owes, in batches).
            #expect(sent >= 4500 && sent <= 5600, "\(status)")
            let after = InterfaceCounters.read(interface: t.filterInterface, namespace: t.filterNamespace)
            let arrived = Int((after?.rxPackets ?? 0) - (before?.rxPackets ?? 0))
            #expect(arrived >= sent && arrived <= sent + 50, "\(arrived) frames arrived for \(sent) sent (and a little ARP)")

            // A long one, stopped over HTTP between two stretches.
            #expect(try await send(port, "POST", #"{"scenario": "udp-flood", "pps": 2000, "duration": 600}"#).status == 202)
            try await Task.sleep(for: .milliseconds(1500))
            let t0 = Date()
            let stopped = try await send(port, "DELETE")
            #expect(stopped.status == 200 && object(stopped.body)["ended"] as? String == "stopped", "\(stopped.body)")
            #expect(Date().timeIntervalSince(t0) < 5, "stopped within a stretch (and a loaded machine's round trip)")
            let quiet = InterfaceCounters.read(interface: t.filterInterface, namespace: t.filterNamespace)?.rxPackets ?? 0
            try await Task.sleep(for: .milliseconds(500))
            let later = InterfaceCounters.read(interface: t.filterInterface, namespace: t.filterNamespace)?.rxPackets ?? 0
            #expect(later - quiet < 5, "\(later - quiet) frames after the stop (the kernel's own ARP at most)")
        }
    }

    /// The scratch lab down: the routes say so.
    @Test func aLabThatIsDownIsNotThere() async throws {
        let lab = Lab(.scratch(prefix: "holon-cptest", tag: "cp\(getpid() % 10000)d"))
        try? lab.down()
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, lab: LabGeneration(source: LabTrafficSender(lab: lab))) { port in
            let r = try await send(port, "GET")
            #expect(r.status == 404)
            #expect(errorText(r.body) == "the lab is not up (holon lab up): lab traffic is generated in \(lab.topology.generatorNamespace) only")
        }
    }
}
