import ArgumentParser
import BaselineLab
import Foundation

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "The baseline lab: a real WordPress behind the filter, used by real browsers from 23 addresses.",
        subcommands: [BaselineUp.self, BaselineDown.self, BaselineStatusCommand.self, BaselineRunCommand.self, BaselineCapture.self]
    )
}

/// Runs a baseline step, turning its error into one line and exit status 1.
func baselineStep<T>(_ body: () throws(BaselineError) -> T) throws -> T {
    do { return try body() } catch { throw InputError("holon baseline: \(error)") }
}

func printBaselineStatus(_ s: BaselineStatus, json: Bool) {
    if json {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        struct Out: Encodable { var status: BaselineStatus; var up: Bool }
        print(String(decoding: try! e.encode(Out(status: s, up: s.isUp)), as: UTF8.self))
        return
    }
    func mark(_ b: Bool) -> String { b ? "running" : "stopped" }
    print("lab namespaces: \(s.lab ? "up" : "missing")")
    print("MariaDB: \(mark(s.database))   php-fpm: \(mark(s.php))   nginx: \(mark(s.web))   Squid: \(mark(s.proxy))")
    print("person addresses: \(s.addresses)")
    print("site \(s.siteAddress): http \(s.httpStatus == 0 ? "no answer" : String(s.httpStatus)), https \(s.httpsStatus == 0 ? "no answer" : String(s.httpsStatus))")
    if let d = s.seeded {
        print("seeded: \(d.posts) posts, \(d.pages) pages, \(d.images) images, \(d.categories) categories, \(d.comments) comments, \(d.editors) editors, \(d.subscribers) subscribers")
    }
    print("private directory: \(s.root)")
    print(s.isUp ? "baseline is up" : (s.isDown ? "baseline is down" : "baseline is partly up (run `holon baseline up`)"))
}

struct BaselineUp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Build the lab, start and seed the site, the addresses and Squid (idempotent).")
    @Flag(help: "Print the resulting status as JSON.") var json = false
    func run() throws {
        let started = Date()
        let s = try baselineStep { () throws(BaselineError) in
            try BaselineSite().up { step in
                FileHandle.standardError.write(String(format: "baseline up [%5.1fs] %@\n", Date().timeIntervalSince(started), step).data(using: .utf8)!)
            }
        }
        printBaselineStatus(s, json: json)
    }
}

struct BaselineDown: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop everything the baseline started and remove the lab namespaces (idempotent).")
    @Flag(help: "Also delete the site's data (database, uploads, certificate).") var purge = false
    @Flag(help: "Print the resulting status as JSON.") var json = false
    func run() throws {
        try baselineStep { () throws(BaselineError) in try BaselineSite().down(purge: purge) }
        printBaselineStatus(BaselineSite().status(), json: json)
    }
}

struct BaselineStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show what of the baseline lab exists and answers.")
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        printBaselineStatus(BaselineSite().status(), json: json)
    }
}
