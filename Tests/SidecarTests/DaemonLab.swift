import Dataplane
import Foundation
import Generator
import Glibc
import Lab
import TestSupport

/// What a test of the daemon binary stands on: a lab (two namespaces, one veth pair), the
/// filter side as `holon run --config` will name it, a scratch directory and the daemon as a
/// child process; `close()` takes it all down, whatever the test left.
final class DaemonLab {
    let lab: Lab
    let target: DataplaneOptions
    let dir: String
    let daemon = DaemonChild()

    init(_ topology: LabTopology, scratch: String) throws {
        lab = Lab(topology)
        try? lab.down()
        try lab.up()
        target = DataplaneOptions.protecting(interface: topology.filterInterface, namespace: topology.filterNamespace)
        dir = NSTemporaryDirectory() + scratch
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// The generator on the far side, one sender thread, aimed at the filter side's address.
    var generatorOptions: GeneratorOptions {
        var o = GeneratorOptions(interface: lab.topology.generatorInterface, namespace: lab.topology.generatorNamespace,
                                 engine: .sendmmsg, threads: 1)
        o.peer = lab.topology.filterAddress.split(separator: "/").first.map(String.init)
        return o
    }

    /// A configuration protecting the filter side alone, no HTTP, JSON events, at `path`.
    func writeConfig(_ path: String, observe: Bool) throws {
        try """
        interfaces: [{name: \(target.interface), netns: \(lab.topology.filterNamespace)}]
        observe: \(observe)
        http: {listen: "off"}
        log: json
        baseline: {directory: \(dir)/baseline}
        """.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func close() {
        daemon.kill(SIGKILL)
        _ = try? Dataplane.detach(target, force: true, forgetRules: true)
        try? lab.down()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// `holon run` as a child process, its `--json` events stamped with when they arrived; each
/// `start` begins a new list (the events of the current run).
final class DaemonChild: @unchecked Sendable {
    struct Event {
        var kind: String
        var detail: String?
        var ids: [UInt32]
        var at: Date
        var message: String? = nil
    }

    private let lock = NSLock()
    private var process: Process?
    private var log: [Event] = []

    var events: [Event] { lock.withLock { log } }

    func start(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Tools.holon)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        lock.withLock { log = [] }
        try p.run()
        lock.withLock { process = p }
        Thread { [weak self] in
            var buffer = Data()
            while true {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { return }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 0x0A) {
                    let line = buffer[buffer.startIndex..<nl]
                    buffer.removeSubrange(buffer.startIndex...nl)
                    guard let o = try? JSONSerialization.jsonObject(with: line) as? [String: Any], let kind = o["event"] as? String,
                          kind != "heartbeat" else { continue }
                    let e = Event(kind: kind, detail: o["kind"] as? String, ids: (o["ids"] as? [Int] ?? []).map { UInt32($0) }, at: Date(),
                                  message: o["message"] as? String)
                    self?.lock.withLock { self?.log.append(e) }
                }
            }
        }.start()
    }

    func kill(_ signal: Int32) {
        guard let p = lock.withLock({ process }), p.isRunning else { return }
        Glibc.kill(p.processIdentifier, signal)
        if signal == SIGKILL { p.waitUntilExit() }
    }

    /// Sends `signal` and waits up to 10 s for the exit; its status (nil: had to be killed).
    func stop(_ signal: Int32) -> Int32? {
        guard let p = lock.withLock({ process }) else { return nil }
        if p.isRunning { Glibc.kill(p.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { kill(SIGKILL); return nil }
        return p.terminationStatus
    }
}
