import ArgumentParser
import Foundation
import Rules

struct BenchRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Reading and writing rule text: what every `holon rules` command pays for a large table's state file."
    )

    @OptionGroup var options: BenchOptions

    func run() {
        options.run(ruleBenchmarks())
    }
}

/// A fresh `holon rules add` to a 100k-rule filter reads the state file (100k lines) and writes it
/// back: the parse and the print are most of the command's time.
func ruleBenchmarks() -> [Benchmark] {
    // Ids from 1, as a state file holds them (the bench's own rules start at 0).
    let table = BenchXDP.rules(100_000).map { r -> Rule in var r = r; r.id += 1; return r }
    let text = RuleFile.print(table)
    // A detector's rule: four fields, a name, an explanation with quotes, a creation time, a TTL.
    let detector = #"(rule (and (= proto tcp) (= tcp_flags syn) (in dst_ip 10.77.0.2/32) (= ttl 64)) (rate-limit 5000) :id 7 :priority 100 :ttl 5m :name "syn-flood" :created 1764979200000000000 :explain "tcp_flags=syn rose from 2% to 97% of packets; \"ttl 64\" from 11%")"#
    guard (try? RuleFile.parse(text)) == table, (try? RuleParser.parse(detector)) != nil else { fatalError("the bench's rule text does not read back") }
    return [
        Benchmark("rules.parse.100k") { n in
            for _ in 0..<n { blackHole(try? RuleFile.parse(text)) }
        },
        Benchmark("rules.print.100k") { n in
            for _ in 0..<n { blackHole(RuleFile.print(table)) }
        },
        Benchmark("rules.parse.detector_rule", minimumIterations: 100) { n in
            for _ in 0..<n { blackHole(try? RuleParser.parse(detector)) }
        },
    ]
}
