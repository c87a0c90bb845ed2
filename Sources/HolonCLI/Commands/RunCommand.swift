import ArgumentParser
import ControlPlane
import Dataplane
import Foundation
import Generator
import Rules
import Logging
import ServiceLifecycle
import Sidecar

/// `holon run`: the live loop over the attached filter (the sidecar), with the control plane's
/// HTTP server beside it.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Protect the filtered interface: learn normal traffic, detect attacks, install and retire rules (root).",
        discussion: """
        Needs the filter attached (`holon lab up && holon filter attach`). The detector learns the
        traffic the filter samples for --warmup, then opens an incident when the traffic drifts,
        writes rules into the filter within the same loop, and takes them out --hold after the
        attack is no longer seen. Rules with ids from 1,000,000,000 up are the sidecar's; rules you
        add with `holon rules add` are never touched. Ctrl-C stops the loop; installed rules stay
        (a later run adopts them and retires them at their TTL).

        While it runs, http://127.0.0.1:9477/ is the dashboard, /metrics the Prometheus
        metrics, /api/status, /api/rules, /api/incidents, /api/history, /api/impact JSON and
        /api/events server-sent events (--http HOST:PORT to move it, --no-http to turn it off).
        POST /api/rules/ID/release and /api/rules/ID/pin do what `holon rules release|pin` do;
        off loopback they need --http-token.
        """
    )

    @Option(help: "The filter samples one packet in this many.") var sampleEvery: UInt32 = 100
    @Option(help: "Learning time before detection (e.g. 10s, 500ms).") var warmup = "10s"
    @Option(help: "How long rules stay after their attack is last seen.") var hold = "10s"
    @Option(help: "Most rules the sidecar keeps installed.") var maxRules = 64
    @Option(help: "Stop after this long (default: until Ctrl-C).") var duration: String?
    @Flag(help: "Detect and report the rules it would install, without touching the filter.") var dryRun = false
    @Option(help: "Where the dashboard, /metrics and the API listen.") var http = "127.0.0.1:9477"
    @Flag(help: "No HTTP server.") var noHttp = false
    @Option(help: ArgumentHelp("A token that rule changes over HTTP (release, pin) must bring as 'Authorization: Bearer TOKEN' (or set HOLON_HTTP_TOKEN); without one they are taken on a loopback address only.",
                               valueName: "TOKEN"))
    var httpToken: String?
    @Flag(help: "One JSON object per event and per second, instead of log lines.") var json = false
    @OptionGroup var target: TargetOptions

    func listenAddress() throws -> (String, Int) {
        guard let colon = http.lastIndex(of: ":"), let port = Int(http[http.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("--http must be HOST:PORT, e.g. 127.0.0.1:9477, got '\(http)'")
        }
        return (String(http[..<colon]), port)
    }

    func run() async throws {
        var config = SidecarConfig()
        guard (1...1_000_000).contains(sampleEvery) else { throw ValidationError("--sample-every must be 1…1000000, got \(sampleEvery)") }
        guard (1...100_000).contains(maxRules) else { throw ValidationError("--max-rules must be 1…100000, got \(maxRules)") }
        if !noHttp { _ = try listenAddress() }
        config.sampleEvery = sampleEvery
        config.detector.warmup = try parseDuration(warmup)
        config.hold = try parseDuration(hold)
        config.maxRules = maxRules
        config.dryRun = dryRun
        let stopAfter = try duration.map(parseDuration)

        let dp = try openFilter(target)
        StopSignal.install()
        defer { StopSignal.restore() }
        let start = Date()
        let limit = stopAfter.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        if !json {
            print("holon run: sampling 1 in \(sampleEvery), learning for \(warmup) of traffic\(dryRun ? ", dry run (the filter is not touched)" : ""); Ctrl-C stops (rules stay)")
        }
        let tty = isatty(1) != 0
        let control = ControlState()
        let emit: @Sendable (SidecarEvent) -> Void = { event in
            // The line the API shows: the event with its wall-clock time.
            let line = control.record(event)
            if json {
                print(line)
            } else if case .heartbeat = event {
                // The status line rewrites itself on a terminal; a log gets one every 10 s.
                if tty {
                    print("\r\u{1B}[2K" + event.text, terminator: "")
                } else if Int(Date().timeIntervalSince(start)) % 10 == 0 {
                    print(event.text)
                }
            } else {
                print((tty ? "\r\u{1B}[2K" : "") + event.text)
            }
            fflush(nil)
        }

        // The HTTP server runs in this task; the loop on its own thread (it blocks in poll).
        var server: (group: ServiceGroup, task: Task<Void, Never>)?
        let serverOutcome = LoopThread()
        if !noHttp {
            let (host, port) = try listenAddress()
            let quiet = json
            let listening = LoopThread()
            let access = ControlAccess(token: httpToken ?? ProcessInfo.processInfo.environment["HOLON_HTTP_TOKEN"], loopback: ControlAccess.isLoopback(host: host))
            let app = ControlServer.application(host: host, port: port, state: control, filter: FollowingFilter(dp),
                                                metrics: MetricsExporter(sidecarRuleBase: config.ruleIDBase), access: access) { bound in
                if !quiet { print((tty ? "\r\u{1B}[2K" : "") + "dashboard: http://\(host):\(bound)/  metrics: http://\(host):\(bound)/metrics") }
                listening.finish()
            }
            let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "holon.run")))
            server = (group, Task {
                do { try await group.run() } catch { serverOutcome.error = error }
                serverOutcome.finish()
            })
            // Listening, or failed to: decided before the loop touches the filter (sampling), so
            // an address it cannot bind changes nothing.
            while !listening.isFinished && !serverOutcome.isFinished { try? await Task.sleep(for: .milliseconds(10)) }
            if serverOutcome.isFinished {
                await server?.task.value
                FileHandle.standardError.write("holon run: the HTTP server on \(http) failed: \(serverOutcome.error.map { "\($0)" } ?? "stopped") (another --http HOST:PORT, or --no-http)\n".data(using: .utf8)!)
                throw ExitCode.failure
            }
        }
        let loop = LoopThread()
        let settings = config
        let thread = Thread {
            // Made on the thread that runs it: the loop is single-threaded by design.
            let sidecar = Sidecar(dataplane: dp, config: settings)
            defer { loop.stats = sidecar.stats }
            do {
                try sidecar.run(until: {
                    StopSignal.requested || (limit.map { Date().timeIntervalSince(start) >= $0 } ?? false)
                }, onEvent: emit)
            } catch {
                loop.error = error
            }
            loop.finish()
        }
        thread.start()
        while !loop.isFinished {
            // A server that stops by itself could not listen: stop the loop too, and say why.
            if server != nil && serverOutcome.isFinished { StopSignal.request() }
            try? await Task.sleep(for: .milliseconds(100))
        }
        if let server {
            control.finishSubscriptions()
            await server.group.triggerGracefulShutdown()
            await server.task.value
            if let e = serverOutcome.error {
                FileHandle.standardError.write("holon run: the HTTP server on \(http) failed: \(e) (another --http HOST:PORT, or --no-http)\n".data(using: .utf8)!)
                throw ExitCode.failure
            }
        }
        if let e = loop.error {
            FileHandle.standardError.write("holon: \(e)\n".data(using: .utf8)!)
            throw ExitCode.failure
        }
        if tty && !json { print("") }
        let s = loop.stats
        if !json {
            print("stopped: \(s.samples) samples, \(s.incidents) incident(s), \(s.rulesInstalled) rule(s) left in the filter")
        }
    }
}

/// A thread's outcome, read by the command: finished, its error, its last stats; and a stop flag.
final class LoopThread: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    var error: (any Error)? {
        get { lock.withLock { storedError } }
        set { lock.withLock { storedError = newValue } }
    }
    private var storedError: (any Error)?
    var stats: SidecarStats {
        get { lock.withLock { storedStats } }
        set { lock.withLock { storedStats = newValue } }
    }
    private var storedStats = SidecarStats()
    var isFinished: Bool { lock.withLock { done } }
    func finish() { lock.withLock { done = true } }
    private var stop = false
    var stopRequested: Bool { lock.withLock { stop } }
    func requestStop() { lock.withLock { stop = true } }
}

/// The control plane's view of the filter, following it when it is detached and attached anew
/// under `holon run` (the sidecar re-attaches; so does this).
final class FollowingFilter: FilterSource, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Dataplane

    init(_ dp: Dataplane) { current = dp }

    private var dataplane: Dataplane {
        lock.withLock {
            if !current.stillAttached(), let fresh = try? Dataplane.open(current.options ?? .standard), fresh.stillAttached() {
                current = fresh
            }
            return current
        }
    }

    func filterStats() -> DataplaneStats? { dataplane.filterStats() }
    var filterRules: [Rule] { dataplane.filterRules }
    func ruleCounters() -> [UInt32: RuleCounters] { dataplane.ruleCounters() }
    // Release and pin over the API (`POST /api/rules/{id}/release|pin`) change the table here.
    func verifiedTable() throws -> [Rule] { try dataplane.verifiedTable() }
    func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws { try dataplane.changeTable(change) }
}
