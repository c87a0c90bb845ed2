import ArgumentParser
import Dataplane
import Foundation
import Spawn

struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Install or remove Holon as a systemd service (holon run --config).",
        subcommands: [ServiceInstall.self, ServiceUninstall.self])
}

/// Where things go; `--root` puts them under another directory (packaging, tests).
struct ServicePaths: ParsableArguments {
    @Option(help: "Install under this directory instead of / (for packaging).") var root = "/"
    @Option(help: "Where the binary goes.") var binary = ServiceUnit.defaultBinary
    @Option(help: "The configuration file the service runs with.") var config = ServiceUnit.defaultConfig
    @Option(help: "Directory of systemd units.") var unitDirectory = "/etc/systemd/system"

    func under(_ path: String) -> String {
        root == "/" ? path : URL(fileURLWithPath: root).appendingPathComponent(path).standardizedFileURL.path
    }
    var unitPath: String { under(unitDirectory + "/holon.service") }
}

struct ServiceInstall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Copy this binary, write the unit and (if none) a starting configuration in observe mode; enable it when systemd runs.")
    @OptionGroup var paths: ServicePaths
    @Option(help: ArgumentHelp("The interface a new configuration protects (default: the interface of this host's default route; eth0 under --root).",
                               valueName: "name"))
    var interface: String?

    func validate() throws { try TargetOptions.checkInterface(interface) }

    /// The interface a new configuration names, and the comment that says why: a starting
    /// configuration naming eth0 on a host whose traffic comes in on ens3 protected nothing.
    var protectedInterface: (name: String, why: String) {
        if let interface { return (interface, "the interface attacks arrive on") }
        if paths.root == "/", let found = Dataplane.defaultRouteInterface() {
            return (found, "this host's default route: the interface attacks arrive on")
        }
        return ("eth0", "the interface attacks arrive on: edit to yours")
    }

    func run() throws {
        let fm = FileManager.default
        let me = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let binary = paths.under(paths.binary)
        try writeAtomically(binary, contents: try Data(contentsOf: URL(fileURLWithPath: me)), mode: 0o755)
        print("installed \(binary)")
        try writeAtomically(paths.unitPath, contents: Data(ServiceUnit.text(binary: paths.binary, config: paths.config).utf8), mode: 0o644)
        print("wrote \(paths.unitPath)")
        let config = paths.under(paths.config)
        if fm.fileExists(atPath: config) {
            print("kept \(config)")
        } else {
            let protects = protectedInterface
            try writeAtomically(config, contents: Data(ServiceUnit.sampleConfig(interface: protects.name, why: protects.why).utf8), mode: 0o644)
            print("wrote \(config) protecting \(protects.name), in observe mode: check interfaces and protected, then set observe: false")
        }
        guard paths.root == "/" else { return }
        if Systemd.isRunning {
            try Systemd.run(["daemon-reload"])
            try Systemd.run(["enable", "holon.service"])
            print("enabled holon.service: `systemctl start holon` starts it, `journalctl -u holon` shows its log")
        } else {
            print("systemd is not running here: the unit is in place for when it is; `holon run --config \(paths.config)` runs the same thing by hand")
        }
    }
}

struct ServiceUninstall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract: "Stop and disable the service and remove its unit and binary; the configuration, the filters and their rules stay.")
    @OptionGroup var paths: ServicePaths

    func run() throws {
        if paths.root == "/" && Systemd.isRunning {
            try? Systemd.run(["disable", "--now", "holon.service"])
        }
        for path in [paths.unitPath, paths.under(paths.binary)] {
            if FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
                print("removed \(path)")
            }
        }
        if paths.root == "/" && Systemd.isRunning { try? Systemd.run(["daemon-reload"]) }
        print("kept \(paths.under(paths.config)); filters stay attached (`holon filter detach --interface IF` removes one)")
    }
}

/// Written to a temporary file beside it, synced, then renamed: never half a file.
func writeAtomically(_ path: String, contents: Data, mode: mode_t) throws {
    let dir = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let tmp = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: tmp, contents: contents, attributes: [.posixPermissions: mode]) else {
        throw InputError("cannot write \(tmp): \(String(cString: strerror(errno)))")
    }
    let fd = open(tmp, O_RDONLY)
    if fd >= 0 { fsync(fd); close(fd) }
    guard rename(tmp, path) == 0 else {
        unlink(tmp)
        throw InputError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
}

enum Systemd {
    /// systemd is PID 1 (the directory exists only then).
    static var isRunning: Bool { FileManager.default.fileExists(atPath: "/run/systemd/system") }

    static func run(_ args: [String]) throws {
        let r = try Spawn.run("/usr/bin/systemctl", args, mergeStderr: true)
        guard r.status == 0 else {
            let said = r.stdoutText.split(separator: "\n").last.map { ": " + $0 } ?? ""
            throw InputError("systemctl \(args.joined(separator: " ")) failed (exit \(r.status))\(said)")
        }
    }

    /// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET ("@" = abstract socket).
    /// Does nothing when not started by systemd.
    static func notify(_ state: String) {
        guard let path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let message = Array(state.utf8)
        _ = withUnsafePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) }
            }
        }
    }
}
