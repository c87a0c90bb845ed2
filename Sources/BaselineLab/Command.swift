import Foundation
import Glibc

/// Runs the programs the lab is made of. Daemons are started in a network namespace through
/// `ip netns exec`, which also gives them a mount namespace of their own: that is where
/// WordPress's `/etc/wordpress` is bind-mounted to the lab's private copy, so the host's
/// directory is never written.
enum Command {
    static func which(_ name: String, package: String) throws(BaselineError) -> String {
        if name.hasPrefix("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else { throw .missingProgram(name, package: package) }
            return name
        }
        let dirs = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"]
        for d in dirs where FileManager.default.isExecutableFile(atPath: "\(d)/\(name)") { return "\(d)/\(name)" }
        throw .missingProgram(name, package: package)
    }

    /// Runs to the end; stdout and stderr together. Throws on a non-zero exit unless `check` is false.
    @discardableResult
    static func run(_ exe: String, _ args: [String], check: Bool = true, input: String? = nil,
                    environment: [String: String]? = nil) throws(BaselineError) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let environment { p.environment = environment }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        let inPipe = Pipe()
        p.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        do { try p.run() } catch { throw .commandFailed(command: exe, status: -1, output: "\(error)") }
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if check && p.terminationStatus != 0 {
            throw .commandFailed(command: ([exe] + args).joined(separator: " "), status: p.terminationStatus, output: text)
        }
        return (p.terminationStatus, text)
    }

    /// `ip netns exec <ns> <args…>` (to the end).
    @discardableResult
    static func inNamespace(_ ns: String, _ args: [String], check: Bool = true, input: String? = nil) throws(BaselineError) -> (status: Int32, output: String) {
        try run(try which("ip", package: "iproute2"), ["netns", "exec", ns] + args, check: check, input: input)
    }

    /// Starts a long-lived program in `ns`, in a session of its own (`setsid -f`) so that neither
    /// `holon` exiting nor a ^C at its terminal stops it; its output goes to `log`.
    static func spawn(in ns: String, _ args: [String], log: String) throws(BaselineError) {
        try daemon(try which("ip", package: "iproute2"), ["netns", "exec", ns, "setsid", "-f"] + args, log: log)
    }

    /// Runs a command that leaves a daemon behind, output appended to `log`, and waits for the
    /// command (not the daemon) to exit. posix_spawn rather than Foundation's Process: Process
    /// hands its child a descriptor it watches to learn of the exit, the daemon inherits it, and
    /// the wait would last as long as the daemon.
    static func daemon(_ exe: String, _ args: [String], log: String) throws(BaselineError) {
        let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .invalid("cannot open \(log): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let start = lseek(fd, 0, SEEK_END)
        let pid = try child(exe, args, stdout: fd, stderr: fd)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        guard exitCode == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)).map { String($0.utf8.dropFirst(Int(max(0, start))))! } ?? ""
            throw .commandFailed(command: ([exe] + args).joined(separator: " "), status: exitCode, output: text)
        }
    }

    /// Starts `exe args…` with stdin from /dev/null and the given descriptors as stdout and
    /// stderr, every signal unblocked and at its default: a child started from a thread that
    /// blocks signals (as Dispatch's do) would otherwise inherit the mask and never hear the
    /// SIGINT or SIGTERM that is meant to end it.
    static func child(_ exe: String, _ args: [String], stdout: Int32, stderr: Int32) throws(BaselineError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([exe] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, &attr, argv, environ)
        guard rc == 0 else { throw .commandFailed(command: exe, status: -1, output: String(cString: strerror(rc))) }
        return pid
    }

    /// Whether child `pid` has exited (reaping it); its exit status when it has.
    static func exited(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == 0 { return nil }
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Waits for child `pid` to exit; its exit status.
    @discardableResult
    static func waitExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The pid in a pid file, if that process is alive.
    static func livePid(_ file: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits for the process to go.
    static func stop(pid: pid_t, grace: Double = 10) {
        guard kill(pid, SIGTERM) == 0 else { return }
        let deadline = Date().addingTimeInterval(grace)
        while kill(pid, 0) == 0 && Date() < deadline { usleep(50_000) }
        if kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
            usleep(100_000)
        }
    }

    /// Waits until `ready` holds, polling; throws `.timeout(what)` after `seconds`.
    static func wait(for what: String, seconds: Double, _ ready: () -> Bool) throws(BaselineError) {
        let deadline = Date().addingTimeInterval(seconds)
        while !ready() {
            if Date() > deadline { throw .timeout(what) }
            usleep(100_000)
        }
    }

    /// Pids of processes whose command line contains `marker` (the lab's private root is in
    /// every daemon's arguments, so this finds exactly what this lab started).
    static func pids(commandLineContaining marker: String) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let me = getpid()
        return entries.compactMap { e -> pid_t? in
            guard let pid = pid_t(e), pid != me,
                  let raw = FileManager.default.contents(atPath: "/proc/\(e)/cmdline") else { return nil }
            let line = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return line.contains(marker) ? pid : nil
        }
    }
}
