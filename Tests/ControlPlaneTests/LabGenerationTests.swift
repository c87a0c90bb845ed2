import ControlPlane
import Foundation
import Synchronization
import TestSupport
import Testing

/// A lab that exists in memory: it records the stretches asked of it, each taking `pace`
/// seconds of wall time per second of traffic.
final class FakeLab: LabTrafficSource {
    struct Stretch: Equatable { var scenario: String; var pps: Double?; var offset: Double; var seconds: Double }
    struct Failure: Error, CustomStringConvertible { var description: String }
    let up = Mutex(true)
    let stretches = Mutex<[Stretch]>([])
    let failAfter = Mutex<Int?>(nil)
    let pace: Double

    init(pace: Double = 0.02) { self.pace = pace }

    func labProblem() -> String? { up.withLock { $0 } ? nil : "the lab is not up (holon lab up)" }
    var scenarios: [String] { ["default", "udp-flood"] }
    func length(of scenario: String) -> Double? { scenarios.contains(scenario) ? 3 : nil }
    func send(scenario: String, pps: Double?, offset: Double, seconds: Double) throws -> UInt64 {
        let n = stretches.withLock { s in
            s.append(Stretch(scenario: scenario, pps: pps, offset: offset, seconds: seconds))
            return s.count
        }
        if let f = failAfter.withLock({ $0 }), n > f { throw Failure(description: "sendmmsg on holon-gen0:\nNo buffer space") }
        Thread.sleep(forTimeInterval: seconds * pace)
        return UInt64((pps ?? 1000) * seconds)
    }
}

/// Issue 11 §5: the lab's generator over HTTP — started, watched and stopped, one at a time,
/// and only where the lab is up.
@Suite("Control plane: lab generator", .offPool)
struct LabGenerationTests {
    func send(_ port: Int, _ method: String, _ body: String? = nil, _ headers: [String: String] = [:]) async throws -> RawHTTP.Answer {
        try await offPool { try RawHTTP.request(port: port, method, "/api/lab/generate", headers: headers, body: body) }
    }

    func object(_ body: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
    }

    func withLab(_ lab: FakeLab?, access: ControlAccess? = nil, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, access: access, lab: lab.map { LabGeneration(source: $0) }, body)
    }

    @Test func startWatchAndStop() async throws {
        let lab = FakeLab(pace: 0.1)
        try await withLab(lab) { port in
            let started = try await send(port, "POST", #"{"scenario": "udp-flood", "pps": 20000, "duration": 600}"#)
            #expect(started.status == 202, "\(started.body)")
            #expect(object(started.body)["running"] as? Bool == true && object(started.body)["scenario"] as? String == "udp-flood")
            let second = try await send(port, "POST", #"{"scenario": "default"}"#)
            #expect(second.status == 409)
            #expect(errorText(second.body) == "a generation of 'udp-flood' is running; DELETE /api/lab/generate stops it")
            try await Task.sleep(for: .milliseconds(350))
            let watched = object(try await send(port, "GET").body)
            #expect(watched["running"] as? Bool == true && (watched["sent"] as? Int ?? 0) >= 20000, "\(watched)")
            #expect(watched["duration_s"] as? Double == 600 && watched["ended"] is NSNull)
            let t0 = Date()
            let stopped = try await send(port, "DELETE")
            #expect(stopped.status == 200)
            // A stretch here is 0.1 s; the rest is the round trip, slow on a loaded machine.
            #expect(Date().timeIntervalSince(t0) < 5, "stopped within a stretch, not at the end of 600 s")
            #expect(object(stopped.body)["running"] as? Bool == false && object(stopped.body)["ended"] as? String == "stopped")
            let count = lab.stretches.withLock { $0.count }
            try await Task.sleep(for: .milliseconds(300))
            #expect(lab.stretches.withLock { $0.count } == count, "nothing sent after the stop")
            let again = try await send(port, "DELETE")
            #expect(again.status == 404 && errorText(again.body) == "no generation is running")
            #expect(try await send(port, "POST", #"{"scenario": "default", "duration": 1}"#).status == 202, "a new one may start")
        }
    }

    /// A run longer than its scenario repeats it; at its end the status says done, with every
    /// packet sent.
    @Test func runsToItsEndRepeatingTheScenario() async throws {
        let lab = FakeLab()
        try await withLab(lab) { port in
            #expect(try await send(port, "POST", #"{"scenario": "default", "duration": 4.5}"#).status == 202)
            var status: [String: Any] = [:]
            for _ in 0..<100 {
                status = object(try await send(port, "GET").body)
                if status["running"] as? Bool == false { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status["ended"] as? String == "done" && status["sent"] as? Int == 4500 && status["elapsed_s"] as? Double == 4.5, "\(status)")
            #expect(lab.stretches.withLock { $0.map(\.offset) } == [0, 1, 2, 0, 1])
            #expect(lab.stretches.withLock { $0.map(\.seconds) } == [1, 1, 1, 1, 0.5])
            #expect(lab.stretches.withLock { $0.allSatisfy { $0.pps == nil } }, "the scenario's own rates")
        }
    }

    @Test func aSenderErrorEndsItWithTheReason() async throws {
        let lab = FakeLab()
        lab.failAfter.withLock { $0 = 1 }
        try await withLab(lab) { port in
            #expect(try await send(port, "POST", #"{"scenario": "udp-flood", "duration": 10}"#).status == 202)
            try await Task.sleep(for: .milliseconds(200))
            let status = object(try await send(port, "GET").body)
            #expect(status["running"] as? Bool == false && status["ended"] as? String == "sendmmsg on holon-gen0: No buffer space", "\(status)")
        }
    }

    @Test func refusals() async throws {
        let lab = FakeLab()
        try await withLab(lab, access: ControlAccess(token: "s3cret")) { port in
            let auth = ["Authorization": "Bearer s3cret"]
            let cases: [(String, String)] = [
                (#"{"scenario": "nope"}"#, "no scenario 'nope'; the built-in ones are default, udp-flood"),
                (#"{"scenario": "default", "pps": 0}"#, "pps must be above 0 and at most 100000000, got 0.0"),
                (#"{"scenario": "default", "duration": -1}"#, "duration must be seconds above 0 and at most 86400, got -1.0"),
                (#"{"pps": 5}"#, "'scenario' is missing; send JSON: " + #"{"scenario": "udp-flood", "pps": 20000, "duration": 30}"#),
            ]
            for (body, message) in cases {
                let r = try await send(port, "POST", body, auth)
                #expect(r.status == 400 && errorText(r.body) == message, "\(body): \(r.body)")
            }
            #expect(try await send(port, "POST", #"{"scenario": "default"}"#).status == 401)
            #expect(try await send(port, "DELETE").status == 401)
            #expect(lab.stretches.withLock { $0.isEmpty })
            #expect(try await send(port, "GET").status == 200, "watching is open")
        }
    }

    /// Not in the lab, or the lab is down: the routes are not there, and say why.
    @Test func onlyWhereTheLabIsUp() async throws {
        try await withLab(nil) { port in
            for method in ["GET", "POST", "DELETE"] {
                let r = try await send(port, method, #"{"scenario": "default"}"#)
                #expect(r.status == 404 && errorText(r.body) == "this control plane drives no lab generator (holon run in the lab has one)", "\(method)")
            }
        }
        let lab = FakeLab()
        lab.up.withLock { $0 = false }
        try await withLab(lab) { port in
            for method in ["GET", "POST", "DELETE"] {
                let r = try await send(port, method, #"{"scenario": "default"}"#)
                #expect(r.status == 404 && errorText(r.body) == "the lab is not up (holon lab up)", "\(method)")
            }
            #expect(lab.stretches.withLock { $0.isEmpty })
        }
    }
}
