import ArgumentParser
import Dataplane
import Foundation
import Rules

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Change the attached filter's rule table (every change replaces it atomically).",
        subcommands: [RulesAdd.self, RulesDel.self, RulesList.self, RulesLoad.self, RulesExport.self]
    )
}

func openFilter() throws -> Dataplane {
    try dataplaneStep { () throws(DataplaneError) in try Dataplane.open() }
}

func printInstall(_ r: InstallReport, json: Bool) {
    if json {
        printDataplaneJSON(r)
    } else {
        print("installed \(r.rules) rules (\(r.shapes) shapes) in \(String(format: "%.1f", Double(r.nanoseconds) / 1e6)) ms")
    }
}

struct RulesAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add rules written in the rule language.")
    @Argument(help: "One rule per argument, e.g. '(rule (and (= proto udp) (= src_port 53)) (rate-limit 5000) :id 7)'.")
    var rules: [String]
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        let parsed = try RuleFile.parse(rules.joined(separator: "\n"))
        let dp = try openFilter()
        let r = try dataplaneStep { () throws(DataplaneError) in try dp.add(parsed) }
        printInstall(r, json: json)
    }
}

struct RulesDel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete rules by id.")
    @Argument(help: "Rule ids.") var ids: [UInt32]
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        let dp = try openFilter()
        let missing = try dataplaneStep { () throws(DataplaneError) in try dp.delete(ids: Set(ids)) }
        struct Deleted: Encodable { var deleted: [UInt32]; var missing: [UInt32] }
        if json { printDataplaneJSON(Deleted(deleted: ids.filter { !missing.contains($0) }, missing: missing.sorted())) }
        else if !missing.isEmpty { print("not installed: \(missing.sorted().map(String.init).joined(separator: " "))") }
    }
}

struct RulesList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List installed rules with their counters.")
    @Flag(help: "Print JSON (rules with hits and drops).") var json = false
    func run() throws {
        let dp = try openFilter()
        let rules = dp.rules
        if json {
            struct Entry: Encodable { var rule: Rule; var hits: UInt64; var drops: UInt64 }
            printDataplaneJSON(rules.map { r in
                let c = dp.counters(forRule: r.id)
                return Entry(rule: r, hits: c.hits, drops: c.drops)
            })
            return
        }
        for r in rules {
            let c = dp.counters(forRule: r.id)
            print("\(r.text)    ; hits \(c.hits) drops \(c.drops)")
        }
    }
}

struct RulesLoad: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Replace the table with the rules of a file.")
    @Argument(help: "A rule file: one rule per line, ';' comments.") var file: String
    @Flag(help: "Print JSON.") var json = false
    func run() throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let parsed = try RuleFile.parse(text)
        let dp = try openFilter()
        let r = try dataplaneStep { () throws(DataplaneError) in try dp.update { _ in parsed } }
        printInstall(r, json: json)
    }
}

struct RulesExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the rules as an nftables ruleset (for hosts that filter with nftables).",
        discussion: """
        Reads the attached filter's table, or --from a rule file. The ruleset replaces its own
        table when loaded (`nft -f FILE`), so loading a newer export swaps the rules atomically.
        """
    )
    @Option(help: "Output format (nft).") var format = "nft"
    @Option(help: "A rule file to export instead of the attached filter's table.") var from: String?
    @Option(help: "Hook this device's ingress (netdev family) instead of inet prerouting.") var device: String?
    @Option(help: "nftables table name.") var table = "holon"
    @Option(help: "Write to this file (atomically) instead of standard output.") var out: String?

    func run() throws {
        guard format == "nft" else { throw ValidationError("unknown --format '\(format)': use nft") }
        let rules: [Rule]
        if let from {
            let text: String
            do { text = try String(contentsOfFile: from, encoding: .utf8) } catch {
                throw ValidationError("cannot read \(from): \(error.localizedDescription)")
            }
            rules = try RuleFile.parse(text)
        } else {
            rules = try openFilter().rules
        }
        let text: String
        do { text = try NftablesExport.ruleset(rules, table: table, device: device) } catch {
            FileHandle.standardError.write("holon rules export: \(error)\n".data(using: .utf8)!)
            throw ExitCode.failure
        }
        guard let out else { print(text, terminator: ""); return }
        let tmp = out + ".tmp"
        try text.write(toFile: tmp, atomically: false, encoding: .utf8)
        guard rename(tmp, out) == 0 else { throw ValidationError("cannot write \(out): \(String(cString: strerror(errno)))") }
    }
}
