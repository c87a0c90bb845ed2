import Foundation
import Glibc
import Spawn
import Testing

@Suite struct SpawnTests {
    @Test func runSeparatesStdoutFromStderrAndReportsTheExitCode() throws {
        let r = try Spawn.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(r.status == 3 && r.stdoutText == "out\n" && r.stderrText == "err\n")
        let merged = try Spawn.run("/bin/sh", ["-c", "echo out; echo err >&2"], mergeStderr: true)
        #expect(merged.status == 0 && merged.stdoutText.contains("out") && merged.stdoutText.contains("err") && merged.stderr.isEmpty)
    }

    /// A child that fills its stderr pipe before it ends its stdout must not stall the run
    /// (a reader that drains one pipe to its end before the other would wait forever).
    @Test func bothPipesAreDrainedTogether() throws {
        let r = try Spawn.run("/bin/sh", ["-c", "head -c 1000000 /dev/zero >&2; head -c 300000 /dev/zero; head -c 500000 /dev/zero >&2"])
        #expect(r.status == 0 && r.stdout.count == 300_000 && r.stderr.count == 1_500_000)
    }

    @Test func inputReachesTheChildsStdin() throws {
        let big = Data((0..<400_000).map { UInt8($0 % 251) })
        let r = try Spawn.run("/usr/bin/wc", ["-c"], input: big)
        #expect(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "400000")
        let none = try Spawn.run("/usr/bin/wc", ["-c"])
        #expect(none.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "stdin is /dev/null without input")
    }

    /// A child that exits without reading its input: our write fails (EPIPE) instead of a
    /// SIGPIPE ending the whole test process; and the thread's signal mask is as it was.
    @Test func aChildThatIgnoresItsInputDoesNotKillUs() throws {
        var before = sigset_t(), after = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &before)
        let r = try Spawn.run("/bin/sh", ["-c", "exit 0"], input: Data(count: 4 << 20))
        #expect(r.status == 0)
        let fed = try Spawn.run("/bin/cat", [], input: Data("fed".utf8))
        #expect(fed.stdoutText == "fed")
        pthread_sigmask(SIG_SETMASK, nil, &after)
        #expect(sigismember(&before, SIGPIPE) == sigismember(&after, SIGPIPE), "SIGPIPE's blocking restored")
    }

    @Test func aSignalEndsAsOneHundredTwentyEightPlusItsNumber() throws {
        let r = try Spawn.run("/bin/sh", ["-c", "kill -TERM $$"])
        #expect(r.status == 128 + SIGTERM)
    }

    @Test func environmentReplacesOursWhenGiven() throws {
        let r = try Spawn.run("/usr/bin/env", [], environment: ["HOLON_SPAWN_TEST": "yes"])
        #expect(r.stdoutText == "HOLON_SPAWN_TEST=yes\n")
    }

    @Test func aMissingProgramIsAnErrorNamingIt() {
        #expect(throws: SpawnError.self) { try Spawn.run("/nonexistent/holon-tool", []) }
        do { _ = try Spawn.run("/nonexistent/holon-tool", []) } catch {
            #expect("\(error)".contains("/nonexistent/holon-tool"))
        }
    }

    /// Children start with every signal unblocked: one started from a thread that blocks
    /// SIGTERM (as Dispatch's threads block signals) still ends on it.
    @Test func childrenDoNotInheritABlockedSignalMask() throws {
        final class Box: @unchecked Sendable { var code: Int32 = -1 }
        let box = Box()
        let t = Thread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &set, nil)
            box.code = (try? Spawn.run("/bin/sh", ["-c", "kill -TERM $$; sleep 5"]).status) ?? -2
        }
        t.start()
        let deadline = Date().addingTimeInterval(10)
        while box.code == -1 && Date() < deadline { usleep(10_000) }
        #expect(box.code == 128 + SIGTERM)
    }

    @Test func aChildsPipedOutputIsReadAndItsExitCodeKept() throws {
        let p = try ChildProcess("/bin/sh", ["-c", "echo hello; exit 7"], stdout: .pipe)
        #expect(String(decoding: p.standardOutput!.readDataToEndOfFile(), as: UTF8.self) == "hello\n")
        #expect(p.wait(timeout: 5) == 7 && !p.isRunning && p.status == 7)
    }

    @Test func stopSignalsThenKillsAndTakesTheGroupsForksToo() throws {
        let dir = NSTemporaryDirectory() + "holon-spawn-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A shell that ignores SIGTERM, with a fork that would outlive it.
        let p = try ChildProcess("/bin/sh", ["-c", "trap '' TERM; sleep 60 & echo $! > \(dir)/fork; wait"],
                                 ownGroup: true)
        var fork: pid_t?
        let deadline = Date().addingTimeInterval(5)
        while fork == nil && Date() < deadline {
            fork = (try? String(contentsOfFile: dir + "/fork", encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            usleep(10_000)
        }
        let f = try #require(fork)
        #expect(p.isRunning && p.status == nil)
        let code = p.stop(signal: SIGTERM, timeout: 0.3)
        #expect(code == 128 + SIGKILL, "ignored SIGTERM, so it was killed")
        usleep(100_000)
        // Gone, or a zombie its new parent has not reaped yet (PID 1 of a container may never).
        let stat = (try? String(contentsOfFile: "/proc/\(f)/stat", encoding: .utf8)) ?? ""
        let state = stat.split(separator: ")").last?.split(separator: " ").first
        #expect(stat.isEmpty || state == "Z", "the group's fork is gone too: \(stat)")
    }

    @Test func outputCanGoToFiles() throws {
        let path = NSTemporaryDirectory() + "holon-spawn-out-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "first\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ChildProcess("/bin/echo", ["second"], stdout: .appending(path)).wait(timeout: 5) == 0)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first\nsecond\n")
        #expect(try ChildProcess("/bin/echo", ["third"], stdout: .file(path)).wait(timeout: 5) == 0)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "third\n")
    }

    /// A parent killed outright (SIGKILL: no handler, no deinit runs) takes its children with it:
    /// the kernel sends them the death signal. Before it, `/bin/sleep 300` ran on under init, as
    /// it still does when asked to (death signal 0): the case that shows this test can fail.
    @Test(arguments: [SIGTERM, SIGKILL, 0])
    func aKilledParentsChildrenEndWithIt(signal: Int32) throws {
        let probe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("SpawnProbe").path
        let parent = try ChildProcess(probe, [String(signal)], stdout: .pipe)
        let line = String(decoding: parent.standardOutput!.availableData, as: UTF8.self)
        let child = try #require(pid_t(line.trimmingCharacters(in: .whitespacesAndNewlines)), "the probe printed its child: \(line)")
        #expect(Self.alive(child))
        parent.send(SIGKILL)
        #expect(parent.wait(timeout: 5) == 128 + SIGKILL)
        let deadline = Date().addingTimeInterval(signal == 0 ? 1 : 5)
        while Self.alive(child) && Date() < deadline { usleep(10_000) }
        if signal == 0 {
            #expect(Self.alive(child), "asked to outlive its parent, it does")
        } else {
            #expect(!Self.alive(child), "the child of a killed parent ended with it")
        }
        if Self.alive(child) { kill(child, SIGKILL) }
    }

    /// The death signal follows the thread that started the child (Linux), so children are
    /// started from one thread that lives as long as the process: one started from a thread
    /// that then ends runs on.
    @Test func aChildOutlivesTheThreadThatStartedIt() throws {
        final class Box: @unchecked Sendable { var child: ChildProcess? }
        let box = Box()
        let t = Thread { box.child = try? ChildProcess("/bin/sleep", ["30"], deathSignal: SIGKILL) }
        t.start()
        let deadline = Date().addingTimeInterval(5)
        while (box.child == nil || !t.isFinished) && Date() < deadline { usleep(10_000) }
        #expect(t.isFinished)
        let child = try #require(box.child)
        usleep(300_000)
        #expect(child.isRunning, "the thread's end did not end it")
        child.stop()
    }

    /// Running (not a zombie awaiting its reaper: PID 1 of a container may never reap).
    static func alive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return stat.split(separator: ")").last?.split(separator: " ").first != "Z"
    }
}
