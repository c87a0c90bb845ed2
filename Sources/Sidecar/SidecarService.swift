import Dataplane
import Foundation
import Packets
import ServiceLifecycle

/// The live loop as a swift-service-lifecycle `Service`: a `ServiceGroup` starts it, and its
/// graceful shutdown (SIGTERM, SIGINT) stops it with the filter and its rules left enforcing.
/// The loop itself runs on a thread of its own (it blocks in the sample ring's poll).
public final class SidecarService: Service, @unchecked Sendable {
    let filter: any LoopFilter
    let config: SidecarConfig
    let stopWhen: @Sendable () -> Bool
    let onEvent: @Sendable (SidecarEvent) -> Void
    private let lock = NSLock()
    private var stopping = false
    private var finalStats = SidecarStats()

    /// `stopWhen` ends the run by itself (e.g. `--duration`); it is polled every ~50 ms.
    public init(filter: any LoopFilter, config: SidecarConfig, stopWhen: @escaping @Sendable () -> Bool = { false },
                onEvent: @escaping @Sendable (SidecarEvent) -> Void) {
        self.filter = filter
        self.config = config
        self.stopWhen = stopWhen
        self.onEvent = onEvent
    }

    /// The baseline's packets as of the last rules installed or adopted (read from any thread).
    public var baselinePackets: [PacketFeatures]? { lock.withLock { baselineCopy } }
    private var baselineCopy: [PacketFeatures]?

    /// The loop's counters when it stopped.
    public var stats: SidecarStats { lock.withLock { finalStats } }

    /// Asks the loop to stop (as a graceful shutdown does).
    public func requestStop() { lock.withLock { stopping = true } }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                let thread = Thread { [self] in
                    // Made on the thread that runs it: the loop is single-threaded by design.
                    let sidecar = Sidecar(dataplane: filter, config: config)
                    var outcome: Result<Void, any Error> = .success(())
                    do {
                        try sidecar.run(until: { [self] in lock.withLock { stopping } || stopWhen() }) { [self] event in
                            // Copied on the loop's own thread, before the event leaves it: whoever
                            // acts on new rules (a Flowspec announcer) checks them against it.
                            switch event {
                            case .installed, .adopted:
                                let packets = sidecar.detector.isWarmedUp ? sidecar.detector.baselinePackets : nil
                                lock.withLock { baselineCopy = packets }
                            default: break
                            }
                            onEvent(event)
                        }
                    } catch {
                        outcome = .failure(error)
                    }
                    lock.withLock { finalStats = sidecar.stats }
                    done.resume(with: outcome)
                }
                thread.name = "holon-loop"
                thread.start()
            }
        } onGracefulShutdown: { [self] in
            requestStop()
        }
    }
}
