import Foundation
import Glibc
import Spawn

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
        let r: Spawn.Output
        do { r = try Spawn.run(exe, args, input: input.map { Data($0.utf8) }, mergeStderr: true, environment: environment) } catch {
            throw .commandFailed(command: exe, status: -1, output: "\(error)")
        }
        if check && r.status != 0 {
            throw .commandFailed(command: ([exe] + args).joined(separator: " "), status: r.status, output: r.stdoutText)
        }
        return (r.status, r.stdoutText)
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
    /// command (not the daemon) to exit: the daemon inherits the log file, never a pipe we read
    /// to its end (that wait would last as long as the daemon).
    static func daemon(_ exe: String, _ args: [String], log: String) throws(BaselineError) {
        let start = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        let exitCode: Int32
        do { exitCode = try ChildProcess(exe, args, stdout: .appending(log), stderr: .appending(log)).wait() } catch {
            throw .commandFailed(command: exe, status: -1, output: "\(error)")
        }
        guard exitCode == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)).map { String(decoding: $0.utf8.dropFirst(start), as: UTF8.self) } ?? ""
            throw .commandFailed(command: ([exe] + args).joined(separator: " "), status: exitCode, output: text)
        }
    }

    /// Starts a long-running child (its stdout and stderr as asked).
    static func child(_ exe: String, _ args: [String], stdout: ChildProcess.Output, stderr: ChildProcess.Output) throws(BaselineError) -> ChildProcess {
        do { return try ChildProcess(exe, args, stdout: stdout, stderr: stderr) } catch {
            throw .commandFailed(command: exe, status: -1, output: "\(error)")
        }
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
