import Foundation
import ServiceLifecycle
import UnixSignals

/// SIGHUP as a service of `holon run`'s group: each one re-reads the configuration (`reload`),
/// until the group shuts down.
struct ReloadService: Service {
    let reload: @Sendable () -> Void

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reload()
        }
    }
}

/// The plan `holon run` runs with, changed by a reload on another task.
final class PlanBox: @unchecked Sendable {
    private let lock = NSLock()
    private var plan: RunPlan

    init(_ plan: RunPlan) { self.plan = plan }

    var value: RunPlan { lock.withLock { plan } }

    func update(_ change: (RunPlan) -> RunPlan) {
        lock.withLock { plan = change(plan) }
    }
}

/// `--duration`: ends `holon run`'s group after `limit` (the loops stop in order, as on
/// SIGTERM); a shutdown before then ends it early.
struct DurationService: Service {
    let limit: Duration

    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: limit) }
    }
}
