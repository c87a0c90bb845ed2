import ArgumentParser
import Foundation
import Lab

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Build or remove the veth/netns lab (holon-gen ⇄ holon-filter), routed nowhere else.",
        subcommands: [LabUp.self, LabDown.self, LabStatusCommand.self]
    )
}

/// Prints a lab status as JSON or as one line per part.
func printLabStatus(_ s: LabStatus, json: Bool) {
    if json {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        print(String(decoding: try! e.encode(LabJSON(status: s)), as: UTF8.self))
        return
    }
    let t = LabTopology.standard
    func mark(_ b: Bool) -> String { b ? "ok" : "missing" }
    print("namespace \(t.generatorNamespace): \(mark(s.generatorNamespace))")
    print("namespace \(t.filterNamespace): \(mark(s.filterNamespace))")
    print("veth \(t.generatorInterface) ⇄ \(t.filterInterface): \(mark(s.veth))")
    print("\(t.generatorInterface) \(t.generatorAddress): \(mark(s.generatorAddressed)), \(s.generatorUp ? "up" : "down")")
    print("\(t.filterInterface) \(t.filterAddress): \(mark(s.filterAddressed)), \(s.filterUp ? "up" : "down")")
    print(s.isUp ? "lab is up" : (s.isDown ? "lab is down" : "lab is partly built (run `holon lab up`)"))
}

struct LabJSON: Encodable {
    var status: LabStatus
    var up: Bool { status.isUp }
    var topology = LabTopology.standard
    enum CodingKeys: String, CodingKey { case status, up, topology }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(up, forKey: .up)
        try c.encode(topology, forKey: .topology)
    }
}

/// Runs a lab step, turning LabError into a clean message and exit status.
func labStep<T>(_ body: () throws(LabError) -> T) throws -> T {
    do { return try body() } catch {
        FileHandle.standardError.write("holon lab: \(error)\n".data(using: .utf8)!)
        throw ExitCode.failure
    }
}

struct LabUp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Create the lab (idempotent).")
    @Flag(help: "Print the resulting status as JSON.") var json = false
    func run() throws {
        let s = try labStep { () throws(LabError) in try Lab().up() }
        printLabStatus(s, json: json)
    }
}

struct LabDown: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Remove the lab (idempotent).")
    @Flag(help: "Print the resulting status as JSON.") var json = false
    func run() throws {
        try labStep { () throws(LabError) in try Lab().down() }
        printLabStatus(Lab().status(), json: json)
    }
}

struct LabStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show what of the lab exists.")
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        printLabStatus(Lab().status(), json: json)
    }
}
