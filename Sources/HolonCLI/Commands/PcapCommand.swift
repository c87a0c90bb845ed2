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
        var stats = CaptureStats()
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

/// Running totals over a capture; only the counters the summary needs.
struct CaptureStats {
    var format = ""
    var packets = 0
    var bytes = 0
    var capturedBytes = 0
    var first: UInt64 = .max
    var last: UInt64 = 0
    var protocols: [String: Int] = [:]
    var sources: [IPAddress: Int] = [:]
    var destinations: [IPAddress: Int] = [:]
    var ports: [String: Int] = [:]
    var linkTypes: [String: Int] = [:]
    var parseErrors: [String: Int] = [:]

    mutating func add(_ p: CapturedPacket) {
        packets += 1
        bytes += p.originalLength
        capturedBytes += p.capturedLength
        if p.timestamp != 0 {
            first = min(first, p.timestamp)
            last = max(last, p.timestamp)
        }
        linkTypes[p.linkType.description, default: 0] += 1
        let f: PacketFeatures
        do {
            f = try p.features()
        } catch {
            if error.kind == .notIP {
                protocols["non-ip", default: 0] += 1
            } else {
                protocols["malformed", default: 0] += 1
                parseErrors["\(error.kind)", default: 0] += 1
            }
            return
        }
        let name = IPProtocol.name(f.proto) + (f.ipVersion == 6 && f.proto != IPProtocol.icmpv6 ? "6" : "")
        protocols[name, default: 0] += 1
        sources[f.srcIP, default: 0] += 1
        destinations[f.dstIP, default: 0] += 1
        if f.hasPorts {
            ports["\(IPProtocol.name(f.proto))/\(f.dstPort)", default: 0] += 1
        }
    }

    func summary(file: String, top: Int, error: CaptureError?) -> CaptureSummary {
        func topK<K>(_ d: [K: Int], _ name: (K) -> String) -> [CaptureSummary.Count] {
            d.sorted { $0.value != $1.value ? $0.value > $1.value : name($0.key) < name($1.key) }
                .prefix(top).map { CaptureSummary.Count(name: name($0.key), packets: $0.value) }
        }
        let duration = packets > 0 && first != .max ? Double(last - first) / 1e9 : 0
        return CaptureSummary(
            file: file, format: format, packets: packets, bytes: bytes, captured_bytes: capturedBytes,
            first_ns: first == .max ? nil : first, last_ns: first == .max ? nil : last,
            duration_s: duration,
            packets_per_s: duration > 0 ? Double(packets) / duration : nil,
            bits_per_s: duration > 0 ? Double(bytes) * 8 / duration : nil,
            link_types: linkTypes,
            protocols: protocols.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { .init(name: $0.key, packets: $0.value) },
            top_sources: topK(sources, { $0.description }),
            top_destinations: topK(destinations, { $0.description }),
            top_ports: topK(ports, { $0 }),
            parse_errors: parseErrors,
            error: error.map { e in var e = e; e.path = file; return e.description }
        )
    }
}

struct CaptureSummary: Codable {
    struct Count: Codable {
        var name: String
        var packets: Int
    }

    var file: String
    var format: String
    var packets: Int
    var bytes: Int
    var captured_bytes: Int
    var first_ns: UInt64?
    var last_ns: UInt64?
    var duration_s: Double
    var packets_per_s: Double?
    var bits_per_s: Double?
    var link_types: [String: Int]
    var protocols: [Count]
    var top_sources: [Count]
    var top_destinations: [Count]
    var top_ports: [Count]
    var parse_errors: [String: Int]
    var error: String?

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
