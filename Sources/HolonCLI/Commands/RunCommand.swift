import ArgumentParser
import Config
import ControlPlane
import Dataplane
import Flowspec
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
        Needs the filter attached (`holon lab up && holon filter attach`), or
        --config FILE naming the interfaces to attach. The detector learns the
        traffic the filter samples for --warmup, then opens an incident when the
        traffic drifts, writes rules into the filter within the same loop, and
        takes them out --hold after the attack is no longer seen. Rules with ids
        from 1,000,000,000 up are the sidecar's; rules you add with
        `holon rules add` are never touched. Ctrl-C stops the loop; installed
        rules stay (a later run adopts them and retires them at their TTL).

        While it runs, http://127.0.0.1:9477/ is the dashboard (--http HOST:PORT
        to move it, --no-http to turn it off):
          GET /metrics                  Prometheus metrics
          GET /api/status, /api/rules, /api/incidents, /api/history,
              /api/impact, /api/snapshot   JSON
          GET /api/events               server-sent events
          GET /api/capture?count=N      the loop's next samples as a pcap
          POST /api/rules/ID/release    `holon rules release ID`
          POST /api/rules/ID/pin        `holon rules pin ID`
          POST /api/rules               {"rule": "(rule …)"}: `holon rules add`
          DELETE /api/rules/ID          `holon rules del ID` (operators' rules)
          GET|PUT /api/mode             {"observe": true|false}
          GET|PUT /api/allowlist        {"prefixes": ["192.0.2.53/32", …]}
          GET|POST|DELETE /api/lab/generate
                                        in the lab only: {"scenario": "udp-flood",
                                        "pps": 20000, "duration": 30} starts a
                                        built-in scenario, GET watches, DELETE stops
        With several interfaces (--config), the API and /metrics cover them all,
        each rule and series with its interface; a rule change goes to the filter
        holding the id, or to every filter unless "interface": NAME (POST) or
        ?interface=NAME names one.
        With --http-token every change needs 'Authorization: Bearer TOKEN';
        without one, changes are taken on loopback only (off loopback the run
        refuses to start). Bodies over 64 KiB are refused (413); every error is
        {"error": "…"}.
        """
    )

    @Option(help: ArgumentHelp("Configuration file (YAML, see `holon config check`): interfaces, protected networks, allowlist, static rules and every flag below; the daemon attaches its interfaces itself. Flags given win over its keys. SIGHUP reloads it.", valueName: "FILE"))
    var config: String?
    @Option(help: "The filter samples one packet in this many (default 100).") var sampleEvery: UInt32?
    @Option(help: "Learning time before detection (default 10s).") var warmup: String?
    @Option(help: "How long rules stay after their attack is last seen (default 10s).") var hold: String?
    @Option(help: "Most rules the sidecar keeps installed (default 64).") var maxRules: Int?
    @Option(help: "Stop after this long (default: until Ctrl-C).") var duration: String?
    @Flag(help: "Detect and report the rules it would install, without touching the filter.") var dryRun = false
    @Option(help: "Where the dashboard, /metrics and the API listen (default 127.0.0.1:9477).") var http: String?
    @Flag(help: "No HTTP server.") var noHttp = false
    @Option(help: ArgumentHelp("A token that every change over HTTP (rules, mode, allowlist, lab traffic) must bring as 'Authorization: Bearer TOKEN' (or set HOLON_HTTP_TOKEN); without one they are taken on a loopback address only.",
                               valueName: "TOKEN"))
    var httpToken: String?
    @Option(help: ArgumentHelp("Serve the dashboard and API over HTTPS with this certificate chain (PEM); needs --tls-key.", valueName: "FILE"))
    var tlsCert: String?
    @Option(help: ArgumentHelp("The private key (PEM) of --tls-cert.", valueName: "FILE"))
    var tlsKey: String?
    @Option(help: ArgumentHelp("Announce every rule as BGP Flowspec through gobgpd: a YAML file with the keys of the configuration's bgp section (gobgp_api, max_announced, observe, packet_bytes). Only rules for destinations inside the protected prefixes are announced; all are withdrawn when they retire and when holon stops.", valueName: "FILE"))
    var bgp: String?
    @Flag(help: "One JSON object per event and per second, instead of log lines.") var json = false
    @Option(help: ArgumentHelp("Where what was learned is kept between runs, one directory per interface (default /var/lib/holon).", valueName: "DIR"))
    var baselineDir: String?
    @Flag(help: "Do not use the saved baseline: learn anew (it is still saved).") var relearn = false
    @OptionGroup var target: TargetOptions

    static func listenAddress(_ http: String) throws -> (String, Int) {
        guard let colon = http.lastIndex(of: ":"), let port = Int(http[http.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("--http must be HOST:PORT, e.g. 127.0.0.1:9477, got '\(http)'")
        }
        return (String(http[..<colon]), port)
    }

    /// The configuration file (if any) with the flags over it.
    func plan() throws -> RunPlan {
        var c = try config.map(checkedConfig) ?? HolonConfig()
        if let n = sampleEvery {
            guard (1...1_000_000).contains(n) else { throw ValidationError("--sample-every must be 1…1000000, got \(n)") }
            c.sampleEvery = n
        }
        if let m = maxRules {
            guard (1...100_000).contains(m) else { throw ValidationError("--max-rules must be 1…100000, got \(m)") }
            c.maxRules = m
        }
        if let w = warmup { c.warmup = try parseDuration(w) }
        if let h = hold { c.hold = try parseDuration(h) }
        if let d = duration { c.duration = try parseDuration(d) }
        if dryRun { c.dryRun = true }
        if let h = http { c.httpListen = h }
        if noHttp { c.httpListen = nil }
        if let t = httpToken ?? ProcessInfo.processInfo.environment["HOLON_HTTP_TOKEN"] { c.httpToken = t }
        switch (tlsCert, tlsKey) {
        case (nil, nil): break
        case let (cert?, key?): c.httpTLS = .init(certificate: cert, key: key)
        default: throw ValidationError("--tls-cert and --tls-key go together: give both, or neither for plain HTTP")
        }
        if json { c.log = .json }
        if let b = bgp {
            do { c.bgp = try ConfigLoader.loadBGP(path: b) } catch { throw InputError(error.description) }
        }
        if c.bgp != nil && c.protected.isEmpty {
            throw ValidationError("BGP Flowspec needs the protected prefixes (protected: in the configuration): Holon announces rules only for destinations inside them")
        }
        if let d = baselineDir {
            guard d.hasPrefix("/") else { throw ValidationError("--baseline-dir must be an absolute path, got '\(d)'") }
            c.stateDirectory = d
        }
        if let h = c.httpListen {
            let (host, _) = try Self.listenAddress(h)
            // The API changes the filter: reachable from the network, it must ask who is asking.
            if !ControlAccess.isLoopback(host: host) && c.httpToken == nil {
                throw ValidationError("--http \(h) is reachable off this host: give --http-token (or HOLON_HTTP_TOKEN, or http.token in the config)")
            }
        }
        var targets: [(DataplaneOptions, Bool)]
        if target.interface != nil {
            targets = [(target.options, c.interfaces.first { $0.name == target.interface && $0.netns == target.netns }?.generic ?? false)]
        } else if !c.interfaces.isEmpty {
            targets = c.interfaces.map { (.protecting(interface: $0.name, namespace: $0.netns), $0.generic) }
        } else {
            targets = [(.standard, false)]
        }
        return RunPlan(config: c, daemon: config != nil, targets: targets)
    }

    func run() async throws {
        var plan = try plan()
        let json = plan.config.log == .json
        // The BGP speaker answers and the TLS files load, or nothing is attached or changed.
        let speaker = try plan.config.dryRun ? nil : plan.config.bgp.map(Self.speaker)
        let tls = try plan.config.httpListen == nil ? nil : plan.config.httpTLS.map(controlTLS)
        let filters = try plan.openFilters()
        let names = filters.map { $0.options?.interface ?? "?" }
        // Each loop hands copies of its samples to `GET /api/capture` through its filter's tap.
        let taps = filters.map { _ in SampleTap() }
        let start = Date()
        if !json {
            print("holon run: \(names.joined(separator: ", ")), sampling 1 in \(plan.config.sampleEvery), learning for \(plan.config.warmup)"
                  + (plan.config.protected.isEmpty ? "" : ", protecting \(plan.config.protected.map(\.description).joined(separator: ", "))")
                  + (plan.config.observe ? ", OBSERVE mode (nothing dropped)" : "")
                  + "\(plan.config.dryRun ? ", dry run (the filter is not touched)" : ""); Ctrl-C stops (rules stay)")
        }
        let tty = isatty(1) != 0 && filters.count == 1
        let several = filters.count > 1
        // With several interfaces the first one's loop paces the traffic history.
        let control = ControlState(primarySource: several ? names[0] : nil)
        let log = Logger(label: "holon.run") { StreamLogHandler.standardOutput(label: $0) }
        let pace = HeartbeatPace(start: start)
        // nil: the daemon's own events (a reload), of no one interface.
        let emitter = { (name: String?) -> @Sendable (SidecarEvent) -> Void in
            { event in
                // The line the API shows: the event with its wall-clock time (and interface).
                let line = control.record(event, source: several ? name : nil)
                let tag = several ? name.map { "[\($0)] " } ?? "" : ""
                if json {
                    print(line)
                } else if case .heartbeat = event {
                    // The status line rewrites itself on a terminal; a log gets one every 10 s.
                    if tty {
                        print("\r\u{1B}[2K" + event.text, terminator: "")
                    } else if pace.due(name) {
                        log.info("\(tag)\(event.text)")
                    }
                } else if tty {
                    print("\r\u{1B}[2K" + tag + event.text)
                } else {
                    // A log (journald, a file): swift-log, one line per event with its level.
                    log.log(level: event.logLevel, "\(tag)\(event.text)")
                }
                fflush(nil)
            }
        }

        // The HTTP server runs in this task; the loops on their own threads (they block in poll).
        var server: (group: ServiceGroup, task: Task<Void, Never>)?
        var following: [FollowingFilter] = []
        let serverOutcome = LoopThread()
        var sidecarConfig = plan.sidecar
        // One id space for every loop of the run: a rule id names one rule across interfaces
        // (the API, the metrics and the Flowspec announcer take rules by id), seeded above
        // every filter's table before any loop starts.
        let ids = RuleIDs(base: sidecarConfig.ruleIDBase)
        for dp in filters { ids.reserve(above: dp.rules) }
        sidecarConfig.ruleIDs = ids
        if let http = plan.config.httpListen {
            let (host, port) = try Self.listenAddress(http)
            let quiet = json
            let listening = LoopThread()
            let access = ControlAccess(token: plan.config.httpToken, loopback: ControlAccess.isLoopback(host: host))
            let scheme = tls == nil ? "http" : "https"
            // The dashboard and the API show every interface's filter and every loop's events.
            // Mode and allowlist changes go to every filter, as the configuration's do.
            following = zip(filters, taps).map { FollowingFilter($0, allowlist: plan.config.allowlist, tap: $1) }
            var named: [(name: String, source: any FilterSource)] = []
            for (name, f) in zip(names, following) { named.append((name, f)) }
            let set = FilterGroup(named: named)
            let app = try ControlServer.application(host: host, port: port, state: control, filters: set,
                                                    metrics: MetricsExporter(sidecarRuleBase: sidecarConfig.ruleIDBase), access: access,
                                                    lab: LabGeneration(source: LabTrafficSender()), tls: tls) { bound in
                if !quiet { print((tty ? "\r\u{1B}[2K" : "") + "dashboard: \(scheme)://\(host):\(bound)/  metrics: \(scheme)://\(host):\(bound)/metrics") }
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
        // The loops as services of one group: SIGTERM or SIGINT shuts it down gracefully (the
        // rules stay); any loop that ends — its --duration, or an error — ends them all (a daemon
        // half protecting is not protecting); SIGHUP re-reads the configuration.
        let say = emitter(nil)
        let inFilters = Set(filters.flatMap { $0.rules.map(\.id) })
        // The tables as they are (operators' pass rules too), followed through a re-attach.
        let tables: [any FilterSource] = following.isEmpty ? zip(filters, taps).map { FollowingFilter($0, allowlist: plan.config.allowlist, tap: $1) } : following
        let announcer = speaker.map { Self.announcer($0, plan.config, filters: names, keeping: inFilters, control: control, tables: tables, say) }
        let loops = filters.indices.map { k -> SidecarService in
            let (dp, name, target) = (filters[k], names[k], plan.targets[k])
            var settings = sidecarConfig
            settings.baselinePath = plan.baselinePath(dp)
            settings.tap = taps[k]
            // The daemon attached its filters: it attaches one again when its interface returns.
            if plan.daemon { settings.attachAgainAs = target.generic ? .generic : .native }
            if relearn, let path = settings.baselinePath { try? FileManager.default.removeItem(atPath: path) }
            let emit = emitter(name)
            let service = Box<SidecarService>()
            service.value = SidecarService(filter: dp, config: settings) { event in
                emit(event)
                announcer?.follow(event, filter: name, baseline: service.value?.baselinePackets)
            }
            return service.value!
        }
        let current = PlanBox(plan)
        let api = following
        let reloader = ReloadService {
            current.update {
                reloaded($0, filters, say) { c in
                    for f in api { f.noteAllowlist(c.allowlist) }
                    announcer?.setObserve(c.bgp?.observe == true)
                    announcer?.setSpared(sparedSources(c))
                    for name in names { announcer?.setFilterObserving(c.observe, filter: name) }
                }
            }
        }
        let group = ServiceGroup(configuration: .init(
            services: loops.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup) }
                + [.init(service: reloader, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)]
                // Loops end only when the group asks them to: together, in order.
                + (plan.config.duration.map { [.init(service: DurationService(limit: $0), successTerminationBehavior: .gracefullyShutdownGroup)] } ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "holon.run")))
        let hasServer = server != nil
        let watcher = Task {
            // systemd's "ready": the filters are attached and each loop has taken its filter (a
            // loop that cannot — another holon run holds it — fails at once and ends the group).
            try? await Task.sleep(for: .milliseconds(200))
            if !Task.isCancelled { Systemd.notify("READY=1\nSTATUS=protecting \(names.joined(separator: ", "))") }
            // A server that stops by itself could not serve: stop the loops too, and say why.
            while !Task.isCancelled {
                if hasServer && serverOutcome.isFinished {
                    await group.triggerGracefulShutdown()
                    return
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        var loopError: (any Error)?
        do { try await group.run() } catch { loopError = error }
        watcher.cancel()
        plan = current.value
        Systemd.notify("STOPPING=1")
        // The host keeps its rules in XDP; the network's routers get theirs withdrawn.
        announcer?.withdrawAll()
        if let server {
            control.finishSubscriptions()
            await server.group.triggerGracefulShutdown()
            await server.task.value
            if let e = serverOutcome.error {
                FileHandle.standardError.write("holon run: the HTTP server on \(plan.config.httpListen ?? "-") failed: \(e) (another --http HOST:PORT, or --no-http)\n".data(using: .utf8)!)
                throw ExitCode.failure
            }
        }
        if let e = loopError {
            FileHandle.standardError.write("holon: \(e)\n".data(using: .utf8)!)
            throw ExitCode.failure
        }
        if tty && !json { print("") }
        if !json {
            for (k, loop) in loops.enumerated() {
                let s = loop.stats
                // Its own rules, and the table they stay in: "0 rules left in the filter" read as
                // an empty table when an operator's 100k rules were there.
                let status = filters[k].options.flatMap { try? Dataplane.status($0) }
                let table = status.flatMap { st in st.settings.map { "; " + tableAfter($0.rules, enforced: st.attached) } } ?? ""
                print("stopped\(several ? " " + names[k] : ""): \(s.samples) samples, \(s.incidents) incident(s), \(s.rulesInstalled) of its rule(s) left in the filter\(table)")
            }
        }
    }

    /// SIGHUP: the configuration read again, the command line's flags over it as at the start
    /// (`--bgp FILE` read again too), and its policy (allowlist, observe, static rules, Flowspec's
    /// observe and spare_allowlist) applied to every filter and the announcer; what else changed
    /// is named as waiting for a restart. A file that does not check is refused and the run goes
    /// on as before. Either way an event says so (a notice, in the log and `--json` alike). What
    /// the loops learned is untouched.
    func reloaded(_ plan: RunPlan, _ filters: [Dataplane], _ say: (SidecarEvent) -> Void,
                  applied: (HolonConfig) -> Void = { _ in }) -> RunPlan {
        guard let path = config else {
            say(.notice(kind: "reload-ignored", message: "SIGHUP ignored: no --config file to reload"))
            return plan
        }
        do {
            var next = plan
            // The file alone put its bgp section (none: Flowspec announcing) over `--bgp FILE`'s
            // `observe: true`, and a reload sent the held rules' routes to the routers.
            let (config, restart) = plan.config.reloaded(from: try self.plan().config)
            next.config = config
            // Into the filter enforcing now: one detached and attached anew under the run has
            // other maps than the handle it started with (the policy went into those, unseen).
            var statics: [String] = []
            for dp in filters {
                let merge = try next.applyPolicy(dp.stillAttached() ? dp : try dataplaneStep { () throws(DataplaneError) in try Dataplane.open(dp.options ?? .standard) })
                if let merge { statics.append((filters.count > 1 ? "\(dp.options?.interface ?? "?"): " : "") + merge.summary) }
            }
            applied(next.config)
            let flowspec = next.config.bgp.map { ", flowspec observe \($0.observe ? "on" : "off")" } ?? ""
            say(.notice(kind: "reloaded", message: "\(path): allowlist \(next.config.allowlist.count), observe \(next.config.observe ? "on" : "off")"
                        + flowspec + (statics.isEmpty ? "" : ", " + statics.joined(separator: "; "))
                        + (restart.isEmpty ? "" : "; changed, applied at the next start: " + restart.joined(separator: ", "))))
            return next
        } catch {
            say(.notice(kind: "reload-refused", message: "\(path) refused, running on as before: \(error)"))
            return plan
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

/// The control plane's view of one interface's filter, following it when it is detached and
/// attached anew under `holon run` (the sidecar re-attaches; so does this).
final class FollowingFilter: FilterSource, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Dataplane
    /// The allowlist as last applied (the configuration's, or the API's): the filter's maps
    /// cannot be read back as a list.
    private var allowed: [AllowPrefix]

    /// Where this filter's loop hands samples to `GET /api/capture`.
    let sampleTap: SampleTap?

    init(_ dp: Dataplane, allowlist: [AllowPrefix] = [], tap: SampleTap? = nil) {
        current = dp
        allowed = allowlist
        sampleTap = tap
    }

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
    func enforcing() -> Bool? { dataplane.enforcing() }
    func ruleCounters() -> [UInt32: RuleCounters] { dataplane.ruleCounters() }
    // Release and pin over the API (`POST /api/rules/{id}/release|pin`) change the table here.
    func verifiedTable() throws -> [Rule] { try dataplane.verifiedTable() }
    func changeTable(_ change: @escaping @Sendable ([Rule]) -> [Rule]) throws { try dataplane.changeTable(change) }
    // `PUT /api/mode` and `PUT /api/allowlist` (the control plane sets every filter of the run).
    func observing() -> Bool? { dataplane.observing() }
    func setObserving(_ on: Bool) throws { try dataplane.setObserving(on) }
    func allowlist() -> [AllowPrefix]? { lock.withLock { allowed } }
    func replaceAllowlist(_ prefixes: [AllowPrefix]) throws {
        try dataplane.replaceAllowlist(prefixes)
        lock.withLock { allowed = prefixes }
    }
    /// A reload applied the configuration's allowlist.
    func noteAllowlist(_ prefixes: [AllowPrefix]) { lock.withLock { allowed = prefixes } }
}
