import CGeneratorShim
import Foundation
import Lab
import Packets

/// An interface's kernel counters (from `ip -s -j link`).
public struct InterfaceCounters: Sendable, Hashable {
    public var rxPackets: UInt64 = 0
    public var rxDropped: UInt64 = 0
    public var txPackets: UInt64 = 0
    public var txDropped: UInt64 = 0

    public init(rxPackets: UInt64 = 0, rxDropped: UInt64 = 0, txPackets: UInt64 = 0, txDropped: UInt64 = 0) {
        self.rxPackets = rxPackets
        self.rxDropped = rxDropped
        self.txPackets = txPackets
        self.txDropped = txDropped
    }

    public static func read(interface: String, namespace: String?) -> InterfaceCounters? {
        var args = namespace.map { ["-n", $0] } ?? []
        args += ["-s", "-j", "link", "show", "dev", interface]
        let r = ip(args)
        guard r.status == 0, let data = r.stdout.data(using: .utf8),
              let arr = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
              let stats = arr.first?["stats64"] as? [String: Any],
              let rx = stats["rx"] as? [String: Any], let tx = stats["tx"] as? [String: Any] else { return nil }
        func u(_ d: [String: Any], _ k: String) -> UInt64 { (d[k] as? NSNumber)?.uint64Value ?? 0 }
        return InterfaceCounters(rxPackets: u(rx, "packets"), rxDropped: u(rx, "dropped"),
                                 txPackets: u(tx, "packets"), txDropped: u(tx, "dropped"))
    }
}

/// Two network namespaces joined by one veth pair, for tests and benchmarks: `holon-gtest-<tag>-tx`
/// holds `<prefix>tx` (10.78.0.1/24), `holon-gtest-<tag>-rx` holds `<prefix>rx` (10.78.0.2/24).
/// Nothing touches the host namespace; `destroy()` removes both namespaces, which removes the
/// pair and any program on it.
public final class VethTestbed: @unchecked Sendable {
    public let sender: NetworkNamespace
    public let receiver: NetworkNamespace
    public let senderInterface: String
    public let receiverInterface: String
    public let senderAddress = "10.78.0.1"
    public let receiverAddress = "10.78.0.2"
    private var destroyed = false

    public static let namespacePrefix = "holon-gtest-"

    /// `tag` distinguishes testbeds that exist at once (default: this process id and a counter).
    public init(tag: String? = nil) throws {
        guard geteuid() == 0 else { throw GeneratorError.notRoot }
        let t = tag ?? "\(getpid())-\(VethTestbed.nextSerial())"
        sender = NetworkNamespace("\(Self.namespacePrefix)\(t)-tx")
        receiver = NetworkNamespace("\(Self.namespacePrefix)\(t)-rx")
        let short = String(t.replacingOccurrences(of: "-", with: "").suffix(9))
        senderInterface = "hg\(short)t"
        receiverInterface = "hg\(short)r"
        do {
            try setUp()
        } catch {
            destroy()
            throw error
        }
    }

    private static let serial = SerialCounter()
    static func nextSerial() -> Int { serial.next() }

    func must(_ args: [String]) throws {
        let r = ip(args)
        if r.status != 0 {
            throw GeneratorError.badArgument("ip \(args.joined(separator: " ")): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    private func setUp() throws {
        for ns in [sender, receiver] where ns.exists { _ = ip(["netns", "del", ns.name]) }
        try must(["netns", "add", sender.name])
        try must(["netns", "add", receiver.name])
        try must(["link", "add", senderInterface, "netns", sender.name, "type", "veth",
                  "peer", "name", receiverInterface, "netns", receiver.name])
        for (ns, ifname, addr) in [(sender, senderInterface, senderAddress), (receiver, receiverInterface, receiverAddress)] {
            _ = ip(["netns", "exec", ns.name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            try must(["-n", ns.name, "addr", "add", "\(addr)/24", "dev", ifname])
            try must(["-n", ns.name, "link", "set", "lo", "up"])
            try must(["-n", ns.name, "link", "set", ifname, "up"])
        }
        // Let the link come up (veth carrier) before anyone sends.
        for _ in 0..<50 {
            let r = ip(["-n", sender.name, "-o", "link", "show", "dev", senderInterface])
            if r.stdout.contains("LOWER_UP") { break }
            usleep(20_000)
        }
    }

    /// The receiver's MAC address (what the sender puts as destination).
    public func receiverMAC() throws -> MACAddress {
        try NetworkNamespace.run(in: receiver) { try InterfaceInfo.lookup(receiverInterface).mac }
    }

    public func receiverCounters() -> InterfaceCounters? { InterfaceCounters.read(interface: receiverInterface, namespace: receiver.name) }
    public func senderCounters() -> InterfaceCounters? { InterfaceCounters.read(interface: senderInterface, namespace: sender.name) }

    /// Turns on threaded NAPI on the receiving veth (faster receive on two cores; needs XDP or GRO).
    public func threadedReceive() {
        _ = ip(["netns", "exec", receiver.name, "sh", "-c", "echo 1 > /sys/class/net/\(receiverInterface)/threaded"])
    }

    public func destroy() {
        guard !destroyed else { return }
        destroyed = true
        for ns in [sender, receiver] { _ = ip(["netns", "del", ns.name]) }
    }

    deinit { destroy() }

    /// Removes testbeds left behind by processes that no longer exist.
    public static func removeStale() {
        let r = ip(["netns", "list"])
        for line in r.stdout.split(separator: "\n") {
            guard let name = line.split(separator: " ").first.map(String.init), name.hasPrefix(namespacePrefix) else { continue }
            let rest = name.dropFirst(namespacePrefix.count)
            if let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }), kill(pid, 0) == 0 || errno == EPERM { continue }
            _ = ip(["netns", "del", name])
        }
    }

    /// Our namespaces that exist now.
    public static func existing() -> [String] {
        ip(["netns", "list"]).stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix(namespacePrefix) }
    }
}

final class SerialCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}

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
