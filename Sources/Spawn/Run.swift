import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs programs to their end and hands back what they wrote: the one process runner of the
/// project (`ip`, `gobgp`, `systemctl`, `nginx`, `mysql`, `holon generate`, …).
public enum Spawn {
    /// What a program that ran to its end wrote, and how it ended.
    public struct Output: Sendable {
        /// The exit code, or 128 + the signal that ended it (``ExitStatus``).
        public var status: Int32
        public var stdout: Data
        /// Empty when stderr was merged into stdout.
        public var stderr: Data

        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs `program args…` to its end: stdin from `input` (or /dev/null), stdout and stderr read
    /// together as they come (a child filling one pipe while we wait on the other would stall),
    /// stderr into stdout when `mergeStderr`. `environment` replaces ours when given.
    public static func run(_ program: String, _ args: [String], input: Data? = nil, mergeStderr: Bool = false,
                           environment: [String: String]? = nil) throws(SpawnError) -> Output {
        let out = try Launch.pipe()
        var err: (read: Int32, write: Int32)?
        var inPipe: (read: Int32, write: Int32)?
        do {
            if !mergeStderr { err = try Launch.pipe() }
            if input != nil { inPipe = try Launch.pipe() }
        } catch {
            close(out.read); close(out.write)
            if let err { close(err.read); close(err.write) }
            throw error
        }
        let pid: pid_t
        do {
            pid = try Launch.spawn(program, args, stdin: inPipe.map { .descriptor($0.read) } ?? .null,
                                   stdout: .descriptor(out.write), stderr: .descriptor(err?.write ?? out.write),
                                   processGroup: false, environment: environment)
        } catch {
            for fd in [out.read, out.write, err?.read, err?.write, inPipe?.read, inPipe?.write].compactMap({ $0 }) { close(fd) }
            throw error
        }
        // Our copies of the child's ends: closed, so that its exit is the pipes' end.
        close(out.write)
        if let err { close(err.write) }
        if let inPipe { close(inPipe.read) }
        var stdout = Data(), stderr = Data()
        drain(out.read, into: &stdout, err?.read, into: &stderr, input: input, to: inPipe?.write)
        return Output(status: ExitStatus.wait(pid), stdout: stdout, stderr: stderr)
    }

    /// Reads both descriptors to their end (and writes `input` to `to`, then closes it) with
    /// poll; closes every descriptor it is given.
    static func drain(_ a: Int32, into da: inout Data, _ b: Int32?, into db: inout Data, input: Data?, to w: Int32?) {
        var open: [Int32] = [a] + (b.map { [$0] } ?? [])
        var writer = w
        let pending = input.map { [UInt8]($0) } ?? []
        var written = 0
        if let fd = writer, pending.isEmpty { close(fd); writer = nil }
        if let fd = writer { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        // A child that exits without reading all its input makes our write raise SIGPIPE, which
        // would end this whole process. While we write, SIGPIPE is blocked on this thread (the
        // write fails with EPIPE instead and we stop writing); one left pending by our write is
        // taken before the thread's mask is restored, whatever way the writing ended.
        var pipeSignal = sigset_t(), previous = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        let blocked = writer != nil && pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous) == 0
        defer {
            if blocked {
                var waiting = sigset_t()
                sigpending(&waiting)
                if sigismember(&waiting, SIGPIPE) == 1 {
                    var immediately = timespec()
                    _ = sigtimedwait(&pipeSignal, nil, &immediately)
                }
                pthread_sigmask(SIG_SETMASK, &previous, nil)
            }
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty || writer != nil {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if let fd = writer { fds.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for p in fds where p.revents != 0 {
                if p.fd == writer {
                    let n = pending.withUnsafeBytes { write(p.fd, $0.baseAddress! + written, $0.count - written) }
                    if n > 0 { written += n }
                    if n < 0 && errno == EAGAIN { continue }
                    if n <= 0 || written == pending.count { close(p.fd); writer = nil }
                    continue
                }
                let n = read(p.fd, &buffer, buffer.count)
                if n > 0 {
                    if p.fd == a { da.append(contentsOf: buffer[0..<n]) } else { db.append(contentsOf: buffer[0..<n]) }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(p.fd)
                    open.removeAll { $0 == p.fd }
                }
            }
        }
        for fd in open { close(fd) }
    }
}
