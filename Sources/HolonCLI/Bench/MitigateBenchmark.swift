import ArgumentParser
import Dataplane
import Foundation
import Generator
import Lab
import Packets
import Rules

/// `holon bench mitigate`: floods no header separates from users (issue 14 §1), against the
/// authenticating actions, with a real TCP client measuring what users get.
///
/// The lab's filter side runs a TCP service; the generator side runs a kernel-socket client
/// (`--rate` connections/s, each a request and its response) while a flood with every header
/// random arrives on the same link at `--pps`: first SYNs under `(syn-auth)`, then ACKs under
/// `(flow-check)`. Each action is installed as two rules with identical semantics (the state
/// they read is the host's, shared by every rule): one for the client's address, above one
/// for everything else, so the second's counters are exactly the attack's.
struct BenchMitigate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mitigate",
        abstract: "Randomized SYN and ACK floods against syn-auth and flow-check, with a real TCP client (root)."
    )

    @Flag(help: "Print one JSON object per line: {\"name\", \"value\", \"unit\"}.") var json = false
    @Option(help: "Flood rate, packets per second.") var pps: Double = 120_000
    @Option(help: "Seconds of client traffic per flood.") var seconds: Double = 10
    @Option(help: "Client connections per second.") var rate: Double = 25
    @Option(help: "TCP port of the lab's service.") var port: UInt16 = 8080
    @Flag(help: "Also run the SYN flood against the shared rate limit a detector wrote before, for comparison.") var compare = false

    func validate() throws {
        guard pps >= 1, pps <= 5_000_000 else { throw ValidationError("--pps must be 1…5000000") }
        guard seconds >= 2, seconds <= 600 else { throw ValidationError("--seconds must be 2…600") }
        guard rate >= 1, rate <= 500 else { throw ValidationError("--rate must be 1…500") }
        guard port != 0 else { throw ValidationError("--port must be 1…65535") }
    }

    func report(_ name: String, _ value: Double, _ unit: String) {
        if json {
            print("{\"name\": \"\(name)\", \"value\": \(String(format: "%.4f", value)), \"unit\": \"\(unit)\"}")
        } else {
            print(pad(name, 44) + lpad(String(format: value < 10 ? "%.4f" : "%.1f", value), 14) + " " + unit)
        }
        fflush(nil)   // each line as it is measured (all streams: stdout is not concurrency-safe to name)
    }

    func run() throws {
        let lab = try BenchLab(bench: "mitigate", prefix: "hsa", tag: "hsa")
        defer { lab.close() }
        let topo = lab.lab.topology
        let server = Self.address(topo.filterAddress), client = Self.address(topo.generatorAddress)
        let service = try TCPEchoServer(namespace: topo.filterNamespace, port: port)
        defer { service.stop() }
        let dp = try dataplaneStep { () throws(DataplaneError) in try Dataplane.open(lab.target) }
        let genMAC = try NetworkNamespace(topo.generatorNamespace).run { try InterfaceInfo.lookup(topo.generatorInterface).mac }
        let fltMAC = try NetworkNamespace(topo.filterNamespace).run { try InterfaceInfo.lookup(topo.filterInterface).mac }

        // Unprotected and unflooded: what a connection costs here.
        let base = try TCPProbeClient.run(namespace: topo.generatorNamespace, server: server, port: port, rate: rate, seconds: 2)
        let baseOK = base.filter(\.ok)
        guard !baseOK.isEmpty else { throw ValidationError("bench mitigate: no client connection succeeded before any flood") }
        let baseConnectMs = median(baseOK.map { Double($0.connectNs) / 1e6 })
        report("mitigate.baseline.legit_success_fraction", Double(baseOK.count) / Double(base.count), "fraction")
        report("mitigate.baseline.connect_ms", baseConnectMs, "ms")

        for kind in [TCPFlood.Kind.syn, .ack] {
            let flags: Rules.Predicate = .equals(.tcpFlags, kind == .syn ? 0x02 : 0x10)
            let action: Action = kind == .syn ? .synAuth : .flowCheck
            let scope: [Rules.Predicate] = [.equals(.proto, 6), flags, .equals(.dstIP, UInt64(server)), .equals(.dstPort, UInt64(port))]
            let attackRule: UInt32 = kind == .syn ? 2 : 4
            let rules = [
                Rule(id: attackRule - 1, match: scope + [.prefix(.srcIP, .v4(client), length: 32)], action: action, priority: 101),
                Rule(id: attackRule, match: scope, action: action, priority: 100),
            ]
            _ = try dataplaneStep { () throws(DataplaneError) in try dp.replace(with: rules) }
            let before = dp.counters(forRule: attackRule)
            let flood = TCPFlood(kind: kind, destination: server, destinationPort: port, sourceMAC: genMAC, destinationMAC: fltMAC)
            let sent = SentBox()
            let floodDone = DispatchSemaphore(value: 0)
            let (pps, span, ifname, ns) = (self.pps, seconds + 1.5, topo.generatorInterface, topo.generatorNamespace)
            let seed = UInt64(kind == .syn ? 1 : 2)
            Thread.detachNewThread {
                sent.value = (try? flood.send(interface: ifname, namespace: ns, pps: pps, seconds: span, seed: seed)) ?? 0
                floodDone.signal()
            }
            usleep(500_000)   // the flood is on before the client's first connection
            let probes = try TCPProbeClient.run(namespace: topo.generatorNamespace, server: server, port: port, rate: rate, seconds: seconds)
            floodDone.wait()
            let after = dp.counters(forRule: attackRule)
            let name = kind == .syn ? "syn_random" : "ack_random"
            let ok = probes.filter(\.ok)
            let passed = (after.hits - after.drops) - (before.hits - before.drops)
            guard sent.value > 0 else { throw ValidationError("bench mitigate: the \(kind.rawValue) flood sent nothing") }
            report("mitigate.\(name).attack_pps", Double(sent.value) / span, "pps")
            report("mitigate.\(name).attack_seen_fraction", Double(after.hits - before.hits) / Double(sent.value), "fraction")
            report("mitigate.\(name).attack_passed_fraction", Double(passed) / Double(sent.value), "fraction")
            report("mitigate.\(name).legit_attempts", Double(probes.count), "connections")
            report("mitigate.\(name).legit_success_fraction", probes.isEmpty ? 0 : Double(ok.count) / Double(probes.count), "fraction")
            if kind == .syn, let first = probes.first {
                // The client's first connection finds its source unauthenticated: its first SYN
                // is dropped and the kernel retransmits it (RTO, 1 s).
                report("mitigate.\(name).first_connect_extra_ms", Double(first.connectNs) / 1e6 - baseConnectMs, "ms")
            }
            report("mitigate.\(name).legit_connect_p50_ms", median(ok.map { Double($0.connectNs) / 1e6 }), "ms")
        }
        if compare { try compareRateLimit(dp: dp, lab: lab, server: server, macs: (genMAC, fltMAC)) }
    }

    /// What the same SYN flood does to the client under the rule a detector wrote before
    /// (issue 14: one shared `(rate-limit 42)`): the client's SYNs compete with the flood's.
    func compareRateLimit(dp: Dataplane, lab: BenchLab, server: UInt32, macs: (MACAddress, MACAddress)) throws {
        let topo = lab.lab.topology
        let rule = Rule(id: 5, match: [.equals(.proto, 6), .equals(.tcpFlags, 0x02)], action: .rateLimit(pps: 42, burst: nil), priority: 100)
        _ = try dataplaneStep { () throws(DataplaneError) in try dp.replace(with: [rule]) }
        let flood = TCPFlood(kind: .syn, destination: server, destinationPort: port, sourceMAC: macs.0, destinationMAC: macs.1)
        let floodDone = DispatchSemaphore(value: 0)
        let (pps, span, ifname, ns) = (self.pps, seconds + 1.5, topo.generatorInterface, topo.generatorNamespace)
        Thread.detachNewThread {
            _ = try? flood.send(interface: ifname, namespace: ns, pps: pps, seconds: span, seed: 3)
            floodDone.signal()
        }
        usleep(500_000)
        let probes = try TCPProbeClient.run(namespace: ns, server: server, port: port, rate: rate, seconds: seconds)
        floodDone.wait()
        report("mitigate.syn_random_ratelimit.legit_success_fraction",
               probes.isEmpty ? 0 : Double(probes.filter(\.ok).count) / Double(probes.count), "fraction")
    }

    static func address(_ cidr: String) -> UInt32 {
        guard case .v4(let a)? = IPAddress(String(cidr.split(separator: "/")[0])) else { return 0 }
        return a
    }
}

private final class SentBox: @unchecked Sendable {
    var value: UInt64 = 0
}
