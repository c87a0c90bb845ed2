import CSpawn
#if canImport(Glibc)
import Glibc
#endif

/// The one place a child is started: posix_spawn with stdin/stdout/stderr as asked, every
/// signal unblocked and at its default (a child started from a thread that blocks signals, as
/// Dispatch's do, would otherwise inherit the mask and never hear the SIGINT or SIGTERM meant to
/// end it), optionally in a process group of its own (so its forks can be stopped with it).
///
/// posix_spawn rather than Foundation's `Process`: `Process` hands the child a descriptor it
/// watches to learn of the exit, which a daemon the child leaves behind inherits (a wait then
/// lasts as long as the daemon), and it has crashed a whole test process on this toolchain
/// while starting `ip`.
enum Launch {
    /// Where one of the child's standard descriptors comes from or goes.
    enum Stream {
        case null
        /// A descriptor of ours, duplicated onto the child's.
        case descriptor(Int32)
        /// A file opened for the child: truncated, or appended to.
        case file(String, append: Bool)
    }

    static func spawn(_ program: String, _ args: [String], stdin: Stream, stdout: Stream, stderr: Stream,
                      processGroup: Bool, environment: [String: String]?) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch stream {
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let d): posix_spawn_file_actions_adddup2(&actions, d, fd)
            case .file(let path, let append):
                posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o644)
            }
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if processGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attr, 0)
        }
        posix_spawnattr_setflags(&attr, Int16(flags))
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var envp: [UnsafeMutablePointer<CChar>?]? = environment.map { env in env.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let rc: Int32
        if envp != nil {
            rc = envp!.withUnsafeMutableBufferPointer { posix_spawn(&pid, program, &actions, &attr, argv, $0.baseAddress) }
        } else {
            rc = posix_spawn(&pid, program, &actions, &attr, argv, environ)
        }
        guard rc == 0 else { throw .cannotStart(program: program, code: rc) }
        return pid
    }

    /// A pipe whose ends are closed in every child started later (O_CLOEXEC): only the
    /// descriptor duplicated onto the child's stdin/stdout/stderr survives the exec.
    static func pipe() throws(SpawnError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard holon_spawn_pipe(&fds) == 0 else { throw .system("pipe", errno) }
        return (fds[0], fds[1])
    }
}
