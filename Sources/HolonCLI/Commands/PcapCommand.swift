import ArgumentParser
import Foundation
import Packets

struct PcapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pcap",
        abstract: "Inspect pcap and pcapng captures.",
        subcommands: [PcapInfo.self]
    )
}

struct PcapInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarise a capture: packets, bytes, duration, protocol mix, top talkers and ports."
    )

    @Argument(help: "A pcap or pcapng file.")
    var file: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "How many top sources, destinations and ports to list.")
    var top = 5

    func run() throws {
        var stats = CaptureStatistics()
        var failure: CaptureError?
        do {
            let reader = try CaptureReader(path: file)
            stats.format = reader.format.rawValue
            while let p = try reader.next() { stats.add(p) }
        } catch {
            failure = error
        }
        if let failure, failure.packetsRead == 0, stats.packets == 0 {
            printError(failure)
            throw ExitCode.failure
        }
        let summary = stats.summary(file: file, top: top, error: failure)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(summary), as: UTF8.self))
        } else {
            print(summary.table())
        }
        if let failure {
            printError(failure)
            throw ExitCode.failure
        }
    }

    private func printError(_ e: CaptureError) {
        var e = e
        e.path = file
        FileHandle.standardError.write("holon: \(e)\n".data(using: .utf8)!)
    }
}

/// The table `holon pcap info` prints; the numbers come from `Packets.CaptureStatistics`.
extension CaptureSummary {
    func table() -> String {
        var out: [String] = []
        func pct(_ n: Int) -> String { packets == 0 ? "" : String(format: "%5.1f%%", Double(n) * 100 / Double(packets)) }
        func time(_ ns: UInt64?) -> String {
            guard let ns else { return "-" }
            let d = Date(timeIntervalSince1970: Double(ns / 1_000_000_000))
            let f = ISO8601DateFormatter()
            return f.string(from: d).replacingOccurrences(of: "Z", with: String(format: ".%09lluZ", ns % 1_000_000_000))
        }
        out.append("\(file)  (\(format), \(link_types.keys.sorted().joined(separator: ", ")))")
        out.append(pad("  packets", 14) + "\(packets)")
        out.append(pad("  bytes", 14) + "\(bytes)" + (captured_bytes != bytes ? "  (captured \(captured_bytes))" : ""))
        out.append(pad("  duration", 14) + String(format: "%.6f s", duration_s) + "  \(time(first_ns)) → \(time(last_ns))")
        if let pps = packets_per_s, let bps = bits_per_s {
            out.append(pad("  rate", 14) + String(format: "%.1f pps, %@", pps, humanBits(bps)))
        }
        func section(_ title: String, _ rows: [Count]) {
            guard !rows.isEmpty else { return }
            out.append("")
            out.append(title)
            let w = max(12, rows.map(\.name.count).max() ?? 0)
            for r in rows {
                out.append("  " + pad(r.name, w + 2) + lpad(String(r.packets), 10) + "  " + pct(r.packets))
            }
        }
        section("protocols", protocols)
        section("top sources", top_sources)
        section("top destinations", top_destinations)
        section("top destination ports", top_ports)
        if !parse_errors.isEmpty {
            section("parse errors", parse_errors.sorted { $0.value > $1.value }.map { Count(name: $0.key, packets: $0.value) })
        }
        if let error { out.append("\nstopped early: \(error)") }
        return out.joined(separator: "\n")
    }

    private func humanBits(_ bps: Double) -> String {
        switch bps {
        case ..<1e3: return String(format: "%.0f bit/s", bps)
        case ..<1e6: return String(format: "%.1f kbit/s", bps / 1e3)
        case ..<1e9: return String(format: "%.1f Mbit/s", bps / 1e6)
        default: return String(format: "%.2f Gbit/s", bps / 1e9)
        }
    }
}
