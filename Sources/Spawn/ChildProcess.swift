import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A long-running child (tcpdump, trafgen, gobgpd, `holon run`): started with ``Launch``, its
/// output to files, /dev/null or a pipe we read, stopped by signal with a deadline.
public final class ChildProcess: @unchecked Sendable {
    /// Where the child's stdout or stderr goes.
    public enum Output: Sendable {
        case null
        /// Truncated at the start.
        case file(String)
        /// Appended to.
        case appending(String)
        /// A pipe: read it through ``standardOutput``/``standardError``.
        case pipe
        /// One of our descriptors (it stays ours).
        case descriptor(Int32)
    }

    public let pid: pid_t
    /// In a process group of its own: signals go to the whole group (trafgen's workers too).
    public let ownGroup: Bool
    /// Our end of the stdout / stderr pipe when asked for (`.pipe`); closed with the child's end.
    public let standardOutput: FileHandle?
    public let standardError: FileHandle?
    private let lock = NSLock()
    private var reaped = false
    private var exitCode: Int32 = 0

    /// `ownGroup`: start it as the leader of a new process group, so ``stop(signal:timeout:)``
    /// ends its forks with it. `deathSignal`: what the kernel sends it when this process ends
    /// without stopping it (killed, crashed; 0: it may outlive us). SIGTERM by default, so a
    /// `holon run` or daemon we started shuts down as it would when stopped, rather than run on
    /// unwatched; it reaches the child itself, not forks of its own.
    public init(_ program: String, _ args: [String], stdout: Output = .null, stderr: Output = .null,
                ownGroup: Bool = false, environment: [String: String]? = nil, deathSignal: Int32 = SIGTERM) throws(SpawnError) {
        var ours: [Int32] = [], theirs: [Int32] = []
        func stream(_ o: Output) throws(SpawnError) -> (Launch.Stream, Int32?) {
            switch o {
            case .null: return (.null, nil)
            case .file(let p): return (.file(p, append: false), nil)
            case .appending(let p): return (.file(p, append: true), nil)
            case .descriptor(let d): return (.descriptor(d), nil)
            case .pipe:
                let p = try Launch.pipe()
                ours.append(p.read)
                theirs.append(p.write)
                return (.descriptor(p.write), p.read)
            }
        }
        do {
            let (o, oRead) = try stream(stdout)
            let (e, eRead) = try stream(stderr)
            pid = try Launch.spawn(program, args, stdin: .null, stdout: o, stderr: e, processGroup: ownGroup, environment: environment,
                                   deathSignal: deathSignal)
            standardOutput = oRead.map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) }
            standardError = eRead.map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) }
        } catch {
            for fd in ours + theirs { close(fd) }
            throw error
        }
        for fd in theirs { close(fd) }
        self.ownGroup = ownGroup
    }

    public var isRunning: Bool {
        lock.withLock {
            if reaped { return false }
            guard let code = ExitStatus.poll(pid) else { return true }
            reaped = true
            exitCode = code
            return false
        }
    }

    /// Its exit code (or 128 + signal) once it has ended; nil while it runs.
    public var status: Int32? { isRunning ? nil : lock.withLock { exitCode } }

    /// Sends `signal` (to the group when it has its own), waits up to `timeout` seconds, then
    /// SIGKILLs; its exit code.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Double = 3) -> Int32 {
        if !isRunning { return lock.withLock { exitCode } }
        send(signal)
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(10_000) }
        if isRunning {
            send(SIGKILL)
            let code = ExitStatus.wait(pid)
            lock.withLock { reaped = true; exitCode = code }
        }
        // Forks left in the group go too.
        if ownGroup { kill(-pid, SIGKILL) }
        return lock.withLock { exitCode }
    }

    /// Waits for it to end by itself, at most `timeout` seconds (then stops it); its exit code.
    @discardableResult
    public func wait(timeout: Double = .infinity) -> Int32 {
        let deadline = timeout.isFinite ? Date().addingTimeInterval(timeout) : Date.distantFuture
        while isRunning && Date() < deadline { usleep(10_000) }
        return stop()
    }

    /// Sends `signal` to it (its group when it has one) without waiting.
    public func send(_ signal: Int32) {
        if ownGroup { kill(-pid, signal) } else { kill(pid, signal) }
    }

    deinit { stop(signal: SIGKILL, timeout: 1) }
}
