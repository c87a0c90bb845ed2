import Foundation
import Glibc

/// CPU time spent by the lab: every process in its two namespaces (site daemons, Squid,
/// drivers, browsers) plus this process's own (the agents' threads), sampled each second.
/// Processes that start and end between two samples are missed: a short-lived browser helper
/// costs at most a second's worth, so the figure is a floor, close to the truth.
public final class LabCPU: @unchecked Sendable {
    let namespaces: [String]
    let lock = NSLock()
    var first: [pid_t: Double] = [:]
    var last: [pid_t: Double] = [:]
    var startSelf = 0.0
    var started = Date()
    var thread: Thread?
    var running = false
    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    public init(layout: BaselineLayout) {
        namespaces = [layout.topology.generatorNamespace, layout.topology.filterNamespace]
    }

    public func start() {
        started = Date()
        startSelf = Self.selfSeconds()
        running = true
        sample(initial: true)
        let t = Thread { [self] in
            while lock.withLock({ running }) {
                sleep(1)
                sample(initial: false)
            }
        }
        thread = t
        t.start()
    }

    /// Stops sampling; the CPU seconds used and that as a share of the machine (all cores) over the time.
    public func stop() -> (seconds: Double, fraction: Double) {
        sample(initial: false)
        lock.withLock { running = false }
        let wall = Date().timeIntervalSince(started)
        let used = lock.withLock { last.reduce(0) { $0 + $1.value - (first[$1.key] ?? 0) } } + Self.selfSeconds() - startSelf
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        return (used, wall > 0 ? used / (wall * cores) : 0)
    }

    func sample(initial: Bool) {
        var inodes = Set<String>()
        for ns in namespaces {
            var st = stat()
            if stat("/run/netns/\(ns)", &st) == 0 { inodes.insert("net:[\(st.st_ino)]") }
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for e in entries {
            guard let pid = pid_t(e), pid != getpid(),
                  let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(e)/ns/net"), inodes.contains(ns),
                  let cpu = Self.cpuSeconds(pid) else { continue }
            lock.withLock {
                // A process already there at the start counts from there; a new one from zero.
                if first[pid] == nil { first[pid] = initial ? cpu : 0 }
                last[pid] = max(last[pid] ?? 0, cpu)
            }
        }
    }

    /// utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat).
    static func cpuSeconds(_ pid: pid_t) -> Double? {
        guard let raw = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = raw.lastIndex(of: ")") else { return nil }
        let fields = raw[raw.index(after: close)...].split(separator: " ")
        // After "pid (comm)": state is field 3, so utime (14) is index 11 here.
        guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
        return (u + s) / ticks
    }

    static func selfSeconds() -> Double {
        var r = rusage()
        getrusage(RUSAGE_SELF.rawValue, &r)
        return Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) / 1e6 + Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) / 1e6
    }
}
