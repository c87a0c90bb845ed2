import Foundation

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

    /// Runs `name` to its end; its exit status and what it wrote.
    public static func run(_ name: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        guard let exe = path(of: name) else { throw CocoaError(.executableNotLoadable, userInfo: [NSFilePathErrorKey: name]) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Both pipes drained together: a child that fills one while we wait on the other blocks.
        let errData = ErrBox()
        let drained = DispatchGroup()
        DispatchQueue.global().async(group: drained) { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
    }
}

private final class ErrBox: @unchecked Sendable { var data = Data() }
