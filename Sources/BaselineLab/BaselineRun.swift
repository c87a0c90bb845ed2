import Foundation

/// One run of the baseline: the people, their browsers, the clock.
public struct RunOptions: Sendable {
    public var readers = 20
    public var editors = 3
    public var duration: Double = 600
    public var seed: UInt64 = 15
    /// Multiplies think times (1: human pace).
    public var pace: Double = 1
    /// Engines to leave out (the rest share their people).
    public var excluded: Set<Engine> = []
    public var policy: any ActionPolicy = MarkovPolicy()

    public init() {}
}

/// A run's full summary: the agents' view and the site's (nginx's log).
public struct RunSummary: Codable, Sendable {
    public var seconds: Double
    public var people: Int
    public var engines: [String: Int]
    public var agents: AgentSummary
    public var site: AccessLogSummary
    /// Page loads per minute over the run (successful ones).
    public var pageLoadsPerMinute: Double
    /// Failed page loads over all page loads (404s are not failures).
    public var failureFraction: Double

    enum CodingKeys: String, CodingKey {
        case seconds, people, engines, agents, site, pageLoadsPerMinute = "page_loads_per_minute", failureFraction = "failure_fraction"
    }
}

/// Drives the people of a run against a site that is up.
public final class BaselineRunner: @unchecked Sendable {
    public let layout: BaselineLayout
    public let stats = RunStats()
    let stopFlag = NSLock()
    var stopped = false

    public init(layout: BaselineLayout = .standard) { self.layout = layout }

    /// Asks every agent to finish its current step and leave.
    public func stop() { stopFlag.withLock { stopped = true } }
    var isStopped: Bool { stopFlag.withLock { stopped } }

    /// Runs the people for `options.duration`; `tick` is called about every 2 s with the
    /// agents' counts so far (for a live line). Browsers are stopped at the end, whatever happens.
    public func run(_ options: RunOptions, tick: (Double, AgentSummary) -> Void = { _, _ in }) throws(BaselineError) -> RunSummary {
        let site = BaselineSite(layout)
        let s = site.status()
        guard s.isUp else { throw .notUp("the baseline site") }
        let total = options.readers + options.editors
        guard total > 0, total <= layout.people else {
            throw .invalid("readers + editors must be between 1 and \(layout.people) (one source address each); got \(total)")
        }
        let available = Set(BrowserFleet.available().keys).subtracting(options.excluded)
        guard !available.isEmpty else { throw .missingProgram("a browser with its WebDriver server", package: "chromium-driver (scripts/setup)") }
        let cast = Persona.cast(readers: options.readers, editors: options.editors, seed: options.seed, engines: available)
        let fleet = BrowserFleet(layout: layout)
        defer { fleet.stop() }
        let scratch = layout.run + "/uploads-\(getpid())"
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let logStart = AccessLog.offset(layout.accessLog)
        let started = Date()
        let deadline = started.addingTimeInterval(options.duration)
        let done = DispatchGroup()
        for p in cast {
            done.enter()
            let t = Thread { [self] in
                defer { done.leave() }
                // Browsers start one after another per engine's driver; a failed start is retried once.
                var session: BrowserSession?
                for attempt in 0..<2 where session == nil && !isStopped {
                    do { session = try fleet.session(p.engine, person: p.index) } catch {
                        if attempt == 1 { stats.agentFailed("\(p.engine.rawValue) #\(p.index): \(error)") }
                    }
                }
                guard let session else { return }
                stats.agent(started: true)
                defer { session.quit(); stats.agent(started: false) }
                let agent = Agent(persona: p, session: session, policy: options.policy, think: ThinkTime(pace: options.pace),
                                  stats: stats, site: layout.siteAddress, scratch: scratch)
                agent.live(until: deadline) { isStopped }
            }
            t.stackSize = 4 << 20
            t.start()
        }
        while done.wait(timeout: .now() + 2) == .timedOut {
            tick(Date().timeIntervalSince(started), stats.snapshot())
        }
        let seconds = Date().timeIntervalSince(started)
        let agents = stats.snapshot()
        // nginx writes each line as its request ends; give the last ones a moment.
        usleep(300_000)
        let siteView = AccessLog.summarize(layout.accessLog, from: logStart)
        var engines: [String: Int] = [:]
        for p in cast { engines[p.engine.rawValue, default: 0] += 1 }
        let ok = agents.pageLoads - agents.failedLoads
        return RunSummary(seconds: seconds, people: cast.count, engines: engines, agents: agents, site: siteView,
                          pageLoadsPerMinute: Double(ok) / max(seconds, 1) * 60, failureFraction: agents.failureFraction)
    }
}
