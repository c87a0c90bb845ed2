import Foundation
import Testing

/// `holon config check`, `holon service install` and `holon run`'s refusals, as a user runs them:
/// the built binary next to this test bundle, no root needed.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: holon)))
struct ServiceAndCommandLineTests {
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: holon)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, o, e)
    }

    func scratch() throws -> String {
        let d = NSTemporaryDirectory() + "holon-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func serviceInstallWritesTheShippedUnitAndAConfigThatChecks() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try run(["service", "install", "--root", root])
        #expect(r.status == 0, "\(r.err)")
        let unit = try String(contentsOfFile: root + "/etc/systemd/system/holon.service", encoding: .utf8)
        let shipped = try String(contentsOfFile: repository + "/dist/holon.service", encoding: .utf8)
        #expect(unit == shipped, "dist/holon.service is what install writes")
        #expect(unit.contains("Type=notify") && unit.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/usr/local/bin/holon"))
        let check = try run(["config", "check", root + "/etc/holon/holon.yaml"])
        #expect(check.status == 0, "\(check.err)")
        #expect(check.out.contains("observe"), "the starting configuration only observes")
        // A second install keeps the operator's configuration.
        try "observe: false\n".write(toFile: root + "/etc/holon/holon.yaml", atomically: true, encoding: .utf8)
        #expect(try run(["service", "install", "--root", root]).status == 0)
        #expect(try String(contentsOfFile: root + "/etc/holon/holon.yaml", encoding: .utf8) == "observe: false\n")
        let u = try run(["service", "uninstall", "--root", root])
        #expect(u.status == 0 && !FileManager.default.fileExists(atPath: root + "/etc/systemd/system/holon.service"))
        #expect(FileManager.default.fileExists(atPath: root + "/etc/holon/holon.yaml"), "the configuration stays")
    }

    @Test func aBadConfigIsOneLineWithItsPlace() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/h.yaml"
        try "run:\n  sample_every: 5\n  hold: forever\n".write(toFile: file, atomically: true, encoding: .utf8)
        for args in [["config", "check", file], ["run", "--config", file]] {
            let r = try run(args)
            #expect(r.status != 0)
            #expect(r.err.contains("\(file):3:9: hold: cannot read duration 'forever'"), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "one line: \(r.err)")
        }
    }

    @Test func anAPIOffThisHostNeedsAToken() throws {
        let r = try run(["run", "--http", "0.0.0.0:9477"])
        #expect(r.status == 64)
        #expect(r.err.contains("reachable off this host"), "\(r.err)")
    }
}

/// `holon` as built next to this test bundle (.build/debug/holon).
let holon: String = {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    return bundle.appendingPathComponent("holon").path
}()

/// The repository's root, from this file's path.
let repository: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
