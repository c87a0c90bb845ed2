import Foundation

/// Headless Chromium (installed by scripts/setup) for the dashboard's tests, never allowed to
/// hang a test run: it writes the DOM to a file (a pipe would stay open while any of its child
/// processes lives), and a watchdog kills it after `timeout`.
enum HeadlessBrowser {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The DOM once the page has loaded (its inline scripts have run). No virtual time budget:
    /// an open event stream keeps virtual time from ever running out.
    static func dom(_ url: String, timeout: TimeInterval = 30) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("holon-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("dom.html")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        defer { try? handle.close() }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
        // Its own profile directory: a parallel run elsewhere holds the default one's lock.
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                       "--user-data-dir=\(dir.appendingPathComponent("profile").path)", "--timeout=5000", "--dump-dom", url]
        p.standardOutput = handle
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            throw Failure(description: "chromium did not finish within \(Int(timeout)) s on \(url): killed")
        }
        p.waitUntilExit()
        return String(decoding: try Data(contentsOf: out), as: UTF8.self)
    }
}
