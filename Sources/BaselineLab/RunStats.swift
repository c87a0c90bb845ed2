import Foundation

/// What the people did, as their browsers saw it, gathered from every agent thread.
public final class RunStats: @unchecked Sendable {
    let lock = NSLock()
    var pages: [Persona.Kind: [Double]] = [:]
    var failures: [Persona.Kind: Int] = [:]
    var notFound: [Persona.Kind: Int] = [:]
    var actions: [AgentAction: Int] = [:]
    var actionFailures: [AgentAction: Int] = [:]
    var pagesByEngine: [Engine: Int] = [:]
    var lastErrors: [String] = []
    var agentsRunning = 0
    var agentsFailed = 0
    /// Every page load's end (seconds since 1970) and whether it failed: for the share that
    /// failed while an attack was under way.
    var loadLog: [(at: Double, failed: Bool)] = []

    public init() {}

    /// Page loads that ended between `from` and `to` (seconds since 1970), and how many failed.
    public func loads(from: Double, to: Double) -> (loads: Int, failed: Int) {
        lock.withLock {
            let window = loadLog.filter { $0.at >= from && $0.at <= to }
            return (window.count, window.filter(\.failed).count)
        }
    }

    func page(_ kind: Persona.Kind, engine: Engine, seconds: Double, failed: Bool, status: Int, error: String? = nil) {
        lock.withLock {
            loadLog.append((Date().timeIntervalSince1970, failed))
            if failed {
                failures[kind, default: 0] += 1
                if let error { lastErrors.append(error); if lastErrors.count > 8 { lastErrors.removeFirst() } }
            } else {
                pages[kind, default: []].append(seconds)
                pagesByEngine[engine, default: 0] += 1
                if status == 404 { notFound[kind, default: 0] += 1 }
            }
        }
    }

    func action(_ a: AgentAction, ok: Bool) {
        lock.withLock {
            actions[a, default: 0] += 1
            if !ok { actionFailures[a, default: 0] += 1 }
        }
    }

    func agent(started: Bool) { lock.withLock { agentsRunning += started ? 1 : -1 } }
    func agentFailed(_ why: String) {
        lock.withLock {
            agentsFailed += 1
            lastErrors.append(why)
            if lastErrors.count > 8 { lastErrors.removeFirst() }
        }
    }

    /// A point-in-time copy.
    public func snapshot() -> AgentSummary {
        lock.withLock {
            var s = AgentSummary()
            for kind in [Persona.Kind.reader, .editor] {
                let l = (pages[kind] ?? []).sorted()
                s.kinds[kind.rawValue] = KindSummary(pageLoads: l.count + (failures[kind] ?? 0), failed: failures[kind] ?? 0,
                                                     notFound: notFound[kind] ?? 0, p50: Self.quantile(l, 0.5), p95: Self.quantile(l, 0.95))
            }
            s.actions = Dictionary(uniqueKeysWithValues: actions.map { ($0.key.rawValue, $0.value) })
            s.actionFailures = Dictionary(uniqueKeysWithValues: actionFailures.map { ($0.key.rawValue, $0.value) })
            s.pageLoadsByEngine = Dictionary(uniqueKeysWithValues: pagesByEngine.map { ($0.key.rawValue, $0.value) })
            s.agentsRunning = agentsRunning
            s.agentsFailed = agentsFailed
            s.lastErrors = lastErrors
            return s
        }
    }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
    }
}

public struct KindSummary: Codable, Sendable {
    /// Page loads attempted (successful + failed).
    public var pageLoads: Int
    public var failed: Int
    /// Loads answered 404 (not failures: some are deliberate, e.g. a search for a missing page).
    public var notFound: Int
    /// Page time quantiles in seconds, over successful loads.
    public var p50: Double
    public var p95: Double

    enum CodingKeys: String, CodingKey {
        case pageLoads = "page_loads", failed, notFound = "not_found", p50 = "p50_seconds", p95 = "p95_seconds"
    }
}

/// The agents' side of a run's summary.
public struct AgentSummary: Codable, Sendable {
    public var kinds: [String: KindSummary] = [:]
    public var actions: [String: Int] = [:]
    public var actionFailures: [String: Int] = [:]
    public var pageLoadsByEngine: [String: Int] = [:]
    public var agentsRunning = 0
    public var agentsFailed = 0
    public var lastErrors: [String] = []

    public var pageLoads: Int { kinds.values.reduce(0) { $0 + $1.pageLoads } }
    public var failedLoads: Int { kinds.values.reduce(0) { $0 + $1.failed } }
    public var failureFraction: Double { pageLoads == 0 ? 0 : Double(failedLoads) / Double(pageLoads) }

    enum CodingKeys: String, CodingKey {
        case kinds, actions, actionFailures = "action_failures", pageLoadsByEngine = "page_loads_by_engine",
             agentsRunning = "agents_running", agentsFailed = "agents_failed", lastErrors = "last_errors"
    }
}
