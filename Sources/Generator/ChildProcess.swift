import Foundation

/// A child process in its own process group (so its forks can be stopped with it), started with
/// posix_spawn; for trafgen and tcpdump in tests and benchmarks.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private var reaped = false
    public private(set) var status: Int32 = 0

    /// `stdoutPath`/`stderrPath`: files to write output to (nil: /dev/null).
    public init(_ path: String, _ args: [String], stdoutPath: String? = nil, stderrPath: String? = nil) throws {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attr, 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var p: pid_t = 0
        let rc = posix_spawn(&p, path, &actions, &attr, argv, environ)
        if rc != 0 { throw GeneratorError.system("start \(path)", rc) }
        pid = p
    }

    public var isRunning: Bool {
        if reaped { return false }
        var st: Int32 = 0
        let r = waitpid(pid, &st, WNOHANG)
        if r == pid { reaped = true; status = st; return false }
        return r == 0
    }

    /// Sends `signal` to the whole group, waits up to `timeout` seconds, then kills the group.
    public func stop(signal: Int32 = SIGINT, timeout: Double = 3) {
        if reaped { return }
        kill(-pid, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(10_000) }
        if !reaped {
            kill(-pid, SIGKILL)
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            reaped = true
            status = st
        }
        // Forks left in the group (trafgen's workers) go too.
        kill(-pid, SIGKILL)
    }

    /// Waits for the process to exit by itself (up to `timeout`), then stops it.
    public func wait(timeout: Double) {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline { usleep(10_000) }
        stop()
    }

    deinit { stop(signal: SIGKILL, timeout: 1) }
}
