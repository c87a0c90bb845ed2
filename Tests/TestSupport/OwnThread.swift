import Foundation
import Testing

/// Runs each test of a suite on a thread of its own instead of Swift's cooperative pool, at most
/// one such test per core at a time.
///
/// The pool has one thread per core (two on the CI machine). Tests that block — a generator
/// sending for seconds, a loop polling a ring, a child process waited for — hold a pool thread
/// each; two at once starve every async test in the run, such as an HTTP server under test that
/// then answers nothing for a minute. Blocking suites carry `.ownThread`, so they do not. They
/// still take turns, as many at once as there are cores: rate and latency tests measure the
/// machine, and a dozen of them at once on two cores measure only each other.
public struct OwnThread: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }
    /// Whether the test waits for a turn (it loads the machine) or only leaves the pool (it
    /// mostly waits, as an HTTP test does, and measures time against the clock).
    var takesTurns = true

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // Suites get the scope too; only test cases need the thread.
        guard testCase != nil else { return try await function() }
        if takesTurns { await Turns.shared.acquire() }
        defer { if takesTurns { Turns.shared.release() } }
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OwnThread {
    /// Each test on a thread of its own (see ``OwnThread``).
    public static var ownThread: OwnThread { OwnThread() }
    /// Off the cooperative pool without taking turns (see ``OwnThread``).
    public static var offPool: OwnThread { OwnThread(takesTurns: false) }
}

extension Trait where Self == TimeLimitTrait {
    /// A time limit for a test that takes turns (``OwnThread``): `minutes` for the test itself,
    /// and as long again as a turn may take to come. The limit counts from before the wait: beside
    /// the full suite on 2 cores, FlowspecDaemonTests ran for 43 s after waiting 244 s for its
    /// turn, and failed its 4 minutes.
    public static func timeLimitAfterTurn(minutes: Int) -> Self { .timeLimit(.minutes(minutes + maxTurnWaitMinutes)) }

    /// The longest wait for a turn seen, with room: minutes.
    static var maxTurnWaitMinutes: Int { 10 }
}

/// A thread per job: a Dispatch queue would run only as many blocked jobs at once as there are
/// cores, and tests that block in parallel would wait on each other.
public final class ThreadPerJobExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = ThreadPerJobExecutor()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let me = asUnownedTaskExecutor()
        let t = Thread { job.runSynchronously(on: me) }
        t.stackSize = 8 << 20
        t.start()
    }
}

/// A counting semaphore that waits by suspending, never by blocking a thread.
final class Turns: @unchecked Sendable {
    static let shared = Turns(ProcessInfo.processInfo.activeProcessorCount)
    private let lock = NSLock()
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ n: Int) { free = max(1, n) }

    func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if free > 0 { free -= 1; return true }
                waiting.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func release() {
        let next: CheckedContinuation<Void, Never>? = lock.withLock {
            if waiting.isEmpty { free += 1; return nil }
            return waiting.removeFirst()
        }
        next?.resume()
    }
}
