import ArgumentParser
import Foundation
import Traffic

struct ScenarioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "List, show and export traffic scenarios.",
        subcommands: [List.self, Show.self, Export.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The embedded scenarios.")
        @Flag(help: "Print JSON.") var json = false

        func run() {
            if json {
                struct Entry: Encodable { var name: String; var seconds: Double; var packets: Int; var phases: [String] }
                printJSON(Scenario.builtIn.map { Entry(name: $0.name, seconds: $0.duration, packets: $0.totalPackets, phases: $0.phases.map(\.name)) })
                return
            }
            var t = TextTable(["scenario", "seconds", "packets", "phases"])
            for s in Scenario.builtIn {
                t.add([s.name, String(format: "%.0f", s.duration), String(s.totalPackets), Self.summary(s.phases.map(\.name))])
            }
            print(t.render())
        }

        /// Phase names with runs of numbered ones folded (`growth-1…16`): a scenario of 30
        /// phases made the column 500 characters wide.
        static func summary(_ names: [String]) -> String {
            func numbered(_ name: String) -> (base: Substring, n: Int)? {
                guard let dash = name.lastIndex(of: "-"), let n = Int(name[name.index(after: dash)...]) else { return nil }
                return (name[..<dash], n)
            }
            var parts: [String] = []
            var i = 0
            while i < names.count {
                var j = i + 1
                if let first = numbered(names[i]) {
                    while j < names.count, let next = numbered(names[j]), next.base == first.base, next.n == first.n + (j - i) { j += 1 }
                }
                if j - i >= 3, let last = numbered(names[j - 1]) {
                    parts.append("\(names[i])…\(last.n)")
                } else {
                    j = i + 1
                    parts.append(names[i])
                }
                i = j
            }
            return parts.joined(separator: ", ")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a scenario as JSON (a starting point for your own file).")
        @Argument(help: "Embedded scenario name.") var name: String

        func run() throws {
            print(try scenarioNamed(name).jsonString)
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a scenario's packets to a pcap file.")
        @Option(help: "Embedded scenario name.") var builtin: String?
        @Option(help: "Scenario JSON file.") var scenario: String?
        @Option(help: "Output pcap.") var out: String
        @Option(help: "Write at most this many packets.") var limit: Int?

        func run() throws {
            let s = try loadScenario(file: scenario, builtin: builtin)
            let n: Int
            do { n = try ScenarioPcap.write(s, to: out, limit: limit) } catch { throw InputError("\(error)") }
            print("wrote \(n) packets of \(s.name) to \(out)")
        }
    }
}

func scenarioNamed(_ name: String) throws -> Scenario {
    guard let s = Scenario.named(name) else {
        throw ValidationError("no embedded scenario named \(name); try: \(Scenario.builtIn.map(\.name).joined(separator: ", "))")
    }
    return s
}

/// A scenario from a JSON file, else an embedded one by name, else the default.
func loadScenario(file: String?, builtin: String?) throws -> Scenario {
    if let path = file {
        do { return try Scenario.load(path: path) } catch { throw InputError("\(error)") }
    }
    return try builtin.map(scenarioNamed) ?? .default
}
