import Foundation
import Spawn

/// Programs a test runs: `holon` as built next to the test bundle, and the Debian tools
/// `scripts/setup` installs (openssl, curl, …).
public enum Tools {
    /// `.build/<config>/holon`: `swift test` builds it beside the test bundle.
    public static let holon: String = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        return bundle.appendingPathComponent("holon").path
    }()

    /// Whether `name` is an executable on PATH (or an absolute path to one).
    public static func found(_ name: String) -> Bool { path(of: name) != nil }

    static func path(of name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `name` to its end; its exit status and what it wrote. Through the project's
    /// ``Spawn`` (posix_spawn), not Foundation's `Process`: its `run()` over-reads the entries of
    /// /proc/self/fd and now and then crashed the whole test process (SIGSEGV in memcpy under
    /// Process.run, seen in a full `swift test`; swift-corelibs-foundation PR 5472).
    public static func run(_ name: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        guard let exe = path(of: name) else { throw CocoaError(.executableNotLoadable, userInfo: [NSFilePathErrorKey: name]) }
        let r = try Spawn.run(exe, arguments)
        return (r.status, r.stdoutText, r.stderrText)
    }
}
