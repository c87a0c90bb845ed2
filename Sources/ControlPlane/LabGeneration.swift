import Foundation
import Hummingbird
import Synchronization

/// What sends the lab's traffic, one short stretch at a time (``LabTrafficSender`` on the
/// lab's generator side; a stand-in in tests). Stretches, because the generator library stops
/// early only through a process-wide flag that is also `holon run`'s own stop: the API stops a
/// generation between two stretches instead, never touching that flag.
public protocol LabTrafficSource: Sendable {
    /// nil when the lab is up and traffic can be sent; otherwise why not, in one line.
    func labProblem() -> String?
    /// Seconds of `scenario` at its own rates (one pass); nil for a scenario it does not know.
    func length(of scenario: String) -> Double?
    /// The scenarios it knows.
    var scenarios: [String] { get }
    /// Sends `seconds` of `scenario` from `offset` seconds into it (at `pps`, or its own rates
    /// when nil) and returns the packets sent. Blocks for about `seconds`.
    func send(scenario: String, pps: Double?, offset: Double, seconds: Double) throws -> UInt64
}

/// `POST/GET/DELETE /api/lab/generate`: one generation of lab traffic at a time, on its own
/// thread, watched and stopped over HTTP.
public final class LabGeneration: Sendable {
    /// The body of `POST /api/lab/generate`.
    public struct Request: Decodable, Sendable {
        public var scenario: String
        /// Packets per second for every phase; nil: the scenario's own rates.
        public var pps: Double?
        /// Seconds; nil: one pass of the scenario. Longer runs repeat it.
        public var duration: Double?
    }

    /// What `GET /api/lab/generate` shows: the running generation, or the last one.
    public struct Status: Encodable, Sendable, Equatable {
        public var running: Bool
        @NullWhenAbsent public var scenario: String?
        @NullWhenAbsent public var pps: Double?
        @NullWhenAbsent public var duration_s: Double?
        public var elapsed_s: Double
        public var sent: UInt64
        /// Why it ended: `done`, `stopped` (DELETE), or the sender's error.
        @NullWhenAbsent public var ended: String?
    }

    static let expected = #"{"scenario": "udp-flood", "pps": 20000, "duration": 30}"#
    /// The longest generation one request starts: a day, as `holon generate`.
    static let maxDuration = 86_400.0
    /// The most packets per second the API asks of the lab (the generator's own ceiling).
    static let maxPPS = 100_000_000.0
    /// The stretch sent between two looks at the stop flag: how late a DELETE takes effect.
    let stretch: Double

    let source: any LabTrafficSource
    private let inner = Mutex(Inner())

    struct Inner {
        var status = Status(running: false, elapsed_s: 0, sent: 0)
        var stop = false
    }

    public init(source: any LabTrafficSource, stretch: Double = 1) {
        self.source = source
        self.stretch = stretch
    }

    /// The request, checked: a known scenario, a rate and a length in range.
    func check(_ r: Request) throws -> (length: Double, duration: Double) {
        // A pass of no length could not be repeated: not a scenario to send.
        guard let length = source.length(of: r.scenario), length > 0 else {
            throw Refusal(status: .badRequest, message: "no scenario '\(r.scenario)'; the built-in ones are \(source.scenarios.joined(separator: ", "))")
        }
        if let pps = r.pps, !(pps > 0 && pps <= Self.maxPPS) {
            throw Refusal(status: .badRequest, message: "pps must be above 0 and at most \(Int(Self.maxPPS)), got \(pps)")
        }
        let duration = r.duration ?? length
        guard duration > 0 && duration <= Self.maxDuration else {
            throw Refusal(status: .badRequest, message: "duration must be seconds above 0 and at most \(Int(Self.maxDuration)), got \(duration)")
        }
        return (length, duration)
    }

    /// Starts `r` on its own thread; a conflict while one runs or when the lab is not up.
    public func start(_ r: Request) throws -> Status {
        try requireLab()
        let (length, duration) = try check(r)
        let started = try inner.withLock { s -> Status in
            if s.status.running {
                throw Refusal(status: .conflict, message: "a generation of '\(s.status.scenario ?? "?")' is running; DELETE /api/lab/generate stops it")
            }
            s = Inner(status: Status(running: true, scenario: r.scenario, pps: r.pps, duration_s: duration, elapsed_s: 0, sent: 0))
            return s.status
        }
        let thread = Thread { [self] in run(r, length: length, duration: duration) }
        thread.name = "holon-lab-generate"
        thread.start()
        return started
    }

    private func run(_ r: Request, length: Double, duration: Double) {
        var ended = "done"
        while true {
            if inner.withLock({ $0.stop }) { ended = "stopped"; break }
            // The scenario's clock: where in its pass this stretch starts (a longer run repeats it).
            let done = inner.withLock { $0.status.elapsed_s }
            guard done < duration - 1e-9 else { break }
            let offset = done.truncatingRemainder(dividingBy: length)
            let seconds = min(stretch, duration - done, length - offset)
            do {
                let sent = try source.send(scenario: r.scenario, pps: r.pps, offset: offset, seconds: seconds)
                inner.withLock { $0.status.sent += sent; $0.status.elapsed_s = done + seconds }
            } catch {
                ended = JSONErrors<BasicRequestContext>.oneLine("\(error)")
                break
            }
        }
        inner.withLock { s in
            s.status.running = false
            s.status.ended = ended
        }
    }

    /// Asks the running generation to stop and waits (at most a stretch and a bit) until it
    /// has, without holding a thread; nil when none runs.
    public func stop() async -> Status? {
        let running = inner.withLock { s -> Bool in
            if s.status.running { s.stop = true }
            return s.status.running
        }
        guard running else { return nil }
        let deadline = Date().addingTimeInterval(stretch + 5)
        while inner.withLock({ $0.status.running }) && Date() < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        return status
    }

    public var status: Status { inner.withLock { $0.status } }

    /// A 404 with the reason when the lab is not up: its traffic exists only there.
    func requireLab() throws {
        if let problem = source.labProblem() { throw Refusal(status: .notFound, message: problem) }
    }
}
