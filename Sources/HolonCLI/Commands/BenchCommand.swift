import ArgumentParser
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run benchmarks and print medians (build with -c release for real numbers).",
        subcommands: [
            BenchVSA.self,
            BenchDetect.self,
            BenchPackets.self,
            BenchRules.self,
            BenchXDP.self,
            BenchGenerate.self,
            BenchLoop.self,
            BenchSoak.self,
            BenchRestart.self,
            BenchBaseline.self,
            BenchMitigate.self,
            BenchMemory.self,
        ]
    )
}

/// Options every bench subcommand shares.
struct BenchOptions: ParsableArguments {
    @Flag(help: "Print one JSON object per line: {\"name\", \"median_ns\", \"iterations\"}.")
    var json = false

    @Option(help: "Run only benchmarks whose name contains this text.")
    var filter: String?

    @Option(help: "Samples per benchmark (the median of these is reported).")
    var samples = 21

    @Flag(help: "Time with the thread's CPU clock instead of the wall clock: on a busy machine it leaves out the time other processes held the core (not their cache and memory traffic).")
    var cpuClock = false

    /// Runs the benchmarks, printing a table (or JSON lines) as results arrive; progress goes to
    /// stderr so stdout stays machine-readable.
    func run(_ benchmarks: [Benchmark]) {
        var runner = BenchRunner()
        runner.samples = samples
        if cpuClock { runner.clock = CLOCK_THREAD_CPUTIME_ID }
        let selected = benchmarks.filter { filter == nil || $0.name.contains(filter!) }
        if !json {
            print(pad("benchmark", 36) + lpad("median", 14) + lpad("iterations", 14))
        }
        for (i, b) in selected.enumerated() {
            FileHandle.standardError.write("[\(i + 1)/\(selected.count)] \(b.name)…\r".data(using: .utf8)!)
            var r = runner.run(b)
            if b.name == "detect.packet" || b.name == "detect.payload.packet" {
                // The issues' figure: packets per second on one core.
                let name = b.name.replacingOccurrences(of: ".packet", with: ".packets_per_second")
                r = BenchResult(name: name, median_ns: r.median_ns, iterations: r.iterations, value: 1e9 / r.median_ns)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = .sortedKeys
                let data = try! encoder.encode(r)
                print(String(decoding: data, as: UTF8.self))
            } else {
                let shown = r.value.map { String(format: "%.0f/s", $0) } ?? formatNanoseconds(r.median_ns)
                print(pad(r.name, 36) + lpad(shown, 14) + lpad(String(r.iterations), 14))
            }
        }
        FileHandle.standardError.write("\u{1B}[2K".data(using: .utf8)!)
    }
}

func formatNanoseconds(_ ns: Double) -> String {
    switch ns {
    case ..<1_000: return String(format: "%.1f ns", ns)
    case ..<1_000_000: return String(format: "%.2f µs", ns / 1_000)
    case ..<1_000_000_000: return String(format: "%.2f ms", ns / 1_000_000)
    default: return String(format: "%.3f s", ns / 1_000_000_000)
    }
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
}

func lpad(_ s: String, _ width: Int) -> String {
    s.count >= width ? " " + s : String(repeating: " ", count: width - s.count) + s
}
