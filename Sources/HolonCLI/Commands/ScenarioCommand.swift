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
                printJSON(Scenario.builtIn.map { ["name": $0.name, "packets": "\($0.totalPackets)", "seconds": "\($0.duration)"] })
                return
            }
            var t = TextTable(["scenario", "seconds", "packets", "phases"])
            for s in Scenario.builtIn {
                t.add([s.name, String(format: "%.0f", s.duration), String(s.totalPackets), s.phases.map(\.name).joined(separator: ", ")])
            }
            print(t.render())
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
