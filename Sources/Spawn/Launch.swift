import CSpawn
#if canImport(Glibc)
import Glibc
#endif

/// The one place a child is started (`holon_spawn_child`, CSpawn): stdin/stdout/stderr as
/// asked, every signal unblocked and at its default (a child started from a thread that blocks
/// signals, as Dispatch's do, would otherwise inherit the mask and never hear the SIGINT or
/// SIGTERM meant to end it), optionally in a process group of its own (so its forks can be
/// stopped with it), and optionally ended with us: a death signal the kernel sends it when this
/// process ends, even by SIGKILL. Before it, a killed parent's children ran on under init
/// unless they wrote to a pipe of ours (`holon run --json` in `holon bench soak` died of
/// SIGPIPE at its next line); those writing to files or /dev/null (gobgpd, trafgen, tcpdump,
/// a test's `sleep`) never ended.
///
/// Not Foundation's `Process`: it hands the child a descriptor it watches to learn of the
/// exit, which a daemon the child leaves behind inherits (a wait then lasts as long as the
/// daemon), and it has crashed a whole test process on this toolchain while starting `ip`.
/// Not posix_spawn: it cannot set the death signal between fork and exec.
enum Launch {
    /// Where one of the child's standard descriptors comes from or goes.
    enum Stream {
        case null
        /// A descriptor of ours, duplicated onto the child's.
        case descriptor(Int32)
        /// A file opened for the child: truncated, or appended to.
        case file(String, append: Bool)
    }

    /// `deathSignal`: sent to the child when we end (0: it may outlive us).
    static func spawn(_ program: String, _ args: [String], stdin: Stream, stdout: Stream, stderr: Stream,
                      processGroup: Bool, environment: [String: String]?, deathSignal: Int32 = 0) throws(SpawnError) -> pid_t {
        // Files are opened here, close-on-exec (no other child inherits them), and closed once
        // the child has its copies.
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        var fds: [Int32] = []
        for (fd, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            let d: Int32
            switch stream {
            case .descriptor(let given): d = given
            case .null: d = open("/dev/null", (fd == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC)
            case .file(let path, let append):
                d = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
                guard d >= 0 else { throw .system("opening \(path) for \(program)", errno) }
            }
            guard d >= 0 else { throw .system("opening /dev/null for \(program)", errno) }
            if case .descriptor = stream {} else { opened.append(d) }
            fds.append(d)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var envp: [UnsafeMutablePointer<CChar>?]? = environment.map { env in env.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        let pid: pid_t = argv.withUnsafeBufferPointer { a in
            fds.withUnsafeBufferPointer { f in
                if envp != nil {
                    return envp!.withUnsafeMutableBufferPointer { e in
                        holon_spawn_child(program, a.baseAddress, e.baseAddress, f.baseAddress, processGroup ? 1 : 0, deathSignal)
                    }
                }
                return holon_spawn_child(program, a.baseAddress, nil, f.baseAddress, processGroup ? 1 : 0, deathSignal)
            }
        }
        guard pid > 0 else { throw .cannotStart(program: program, code: -pid) }
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
