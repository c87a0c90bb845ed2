import ArgumentParser
import Foundation
import Generator
import Lab
import Packets
import Spawn

/// `holon bench generate`: every send engine and netsniff-ng's trafgen, in the same run, sending
/// the same 64-byte UDP frames over a veth pair in namespaces the bench makes; packets are
/// counted on the far side by a BPF program that counts and drops.
///
/// The engines take turns (sendmmsg, txring, trafgen, then again) for `--rounds` rounds and each
/// line is the median of its rounds, so a slow spell on a shared machine lands on all of them.
/// The far side drops at tc ingress: the ordinary skb receive path without its IP layer, which on
/// a veth runs on the sender's CPU, so what is left to compare is the senders' own cost. XDP live
/// frames need native XDP on the far side (a veth only turns XDP_TX frames into receives when its
/// peer runs XDP), so that engine runs last, against an XDP counter.
struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Traffic generator throughput (root): pps received per engine and for trafgen."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Seconds per engine per round.") var seconds = 3
    @Option(help: "Rounds; each line is the median over rounds.") var rounds = 3
    @Option(help: "Sender threads (default: one per core).") var threads: Int?
    @Option(help: "Frames per sendmmsg call.") var batch = 256
    @Option(help: "trafgen binary.") var trafgen = "/usr/sbin/trafgen"

    struct Line: Encodable {
        let name: String
        let value: Double
        let rounds: [Double]
        let seconds: Double
    }

    func emit(_ name: String, _ samples: [Double], seconds: Double) {
        let pps = median(samples)
        if options.json {
            let line = Line(name: name, value: pps.rounded(), rounds: samples.map { $0.rounded() }, seconds: seconds)
            print(String(decoding: try! JSONEncoder().encode(line), as: UTF8.self))
        } else {
            let spread = samples.count > 1 ? String(format: "%.0f–%.0f", samples.min()!, samples.max()!) : ""
            print(pad(name, 36) + lpad(String(format: "%.0f pps", pps), 16) + "  " + spread)
        }
        fflush(nil)
    }

    /// Median of the per-second deltas, leaving out the first second (warm-up).
    static func steadyRate(_ samples: [(UInt64, UInt64)]) -> Double {
        var rates: [Double] = []
        for i in 1..<samples.count {
            let dt = Double(samples[i].0 - samples[i - 1].0) / 1e9
            if dt > 0.2 { rates.append(Double(samples[i].1 - samples[i - 1].1) / dt) }
        }
        let steady = rates.count > 2 ? Array(rates.dropFirst()) : rates
        guard !steady.isEmpty else { return 0 }
        return steady.sorted()[steady.count / 2]
    }

    func selected(_ name: String) -> Bool { options.filter.map { "generate.pps.\(name)".contains($0) } ?? true }

    func progress(_ text: String) {
        FileHandle.standardError.write("\u{1B}[2K\(text)\r".data(using: .utf8)!)
    }

    /// The benchmark's own lab (`holon-gbench-p<pid>-<n>-gen|flt`), never the standard one.
    static let labPrefix = "holon-gbench"

    func run() throws {
        guard geteuid() == 0 else {
            FileHandle.standardError.write("holon bench generate: needs root (namespaces, raw sockets, BPF): run it with sudo\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
        guard seconds >= 2, rounds >= 1 else { throw ValidationError("--seconds must be at least 2 and --rounds at least 1") }
        Lab.removeStale(prefix: Self.labPrefix)
        let lab = Lab(.owned(prefix: Self.labPrefix))
        try lab.up()
        defer { try? lab.down() }
        let topo = lab.topology
        let dst = try NetworkNamespace(topo.filterNamespace).run { try InterfaceInfo.lookup(topo.filterInterface).mac }
        if !options.json { print(pad("benchmark", 36) + lpad("received", 16) + "  rounds (min–max)") }

        var results: [String: [Double]] = [:]
        let turns = ["sendmmsg", "txring", "trafgen"].filter(selected)
        if !turns.isEmpty {
            let tc = try PacketCounter(interface: topo.filterInterface, namespace: NetworkNamespace(topo.filterNamespace), hook: .tcIngress)
            defer { tc.detach() }
            for round in 1...rounds {
                for name in turns {
                    progress("generate.pps.\(name) round \(round)/\(rounds)…")
                    let pps = name == "trafgen"
                        ? try runTrafgen(topo: topo, count: { tc.count }, destination: dst)
                        : try runEngine(name, topo: topo, destination: dst, count: { tc.count })
                    if let pps { results[name, default: []].append(pps) }
                }
            }
        }
        if selected("xdp-live") {
            let c = try PacketCounter(interface: topo.filterInterface, namespace: NetworkNamespace(topo.filterNamespace))
            defer { c.detach() }
            // Threaded NAPI on the receiving veth: faster receive on two cores (needs XDP or GRO).
            _ = try? IPCommand.runStatus(["netns", "exec", topo.filterNamespace, "sh", "-c", "echo 1 > /sys/class/net/\(topo.filterInterface)/threaded"])
            for round in 1...rounds {
                progress("generate.pps.xdp-live round \(round)/\(rounds)…")
                if let pps = try runEngine("xdp-live", topo: topo, destination: dst, count: { c.count }) {
                    results["xdp-live", default: []].append(pps)
                }
            }
        }
        progress("")
        for name in ["sendmmsg", "txring", "trafgen", "xdp-live"] {
            if let r = results[name], !r.isEmpty { emit("generate.pps.\(name)", r, seconds: Double(seconds)) }
        }
    }

    /// One engine for `seconds`, unlimited: the steady received rate (nil if it failed).
    func runEngine(_ name: String, topo: LabTopology, destination: MACAddress, count: @escaping @Sendable () -> UInt64) throws -> Double? {
        let plan = TrafficPlan.profile(.udp64, pps: nil, duration: Double(seconds))
        var o = GeneratorOptions(interface: topo.generatorInterface, namespace: topo.generatorNamespace,
                                 engine: EngineKind(rawValue: name)!, threads: threads ?? Int(ProcessInfo.processInfo.activeProcessorCount),
                                 destinationMAC: destination)
        o.settings.batch = batch
        let gen = TrafficGenerator(plan: plan, options: o)
        let box = SampleBox()
        box.samples.append((monotonicNanoseconds(), count()))
        do {
            _ = try gen.run { _ in box.samples.append((monotonicNanoseconds(), count())) }
            box.samples.append((monotonicNanoseconds(), count()))
            return Self.steadyRate(box.samples)
        } catch {
            FileHandle.standardError.write("generate.pps.\(name): \(error)\n".data(using: .utf8)!)
            return nil
        }
    }

    /// trafgen with the generator's own first udp64 frame, all CPUs, for `seconds`.
    func runTrafgen(topo: LabTopology, count: () -> UInt64, destination: MACAddress) throws -> Double? {
        let src = try NetworkNamespace(topo.generatorNamespace).run { try InterfaceInfo.lookup(topo.generatorInterface).mac }
        let plan = TrafficPlan.profile(.udp64, pps: nil, duration: 1)
        let pool = FramePool(plan.phases[0].packets, source: src, destination: destination)
        let bytes = pool.frame(0)
        let conf = "{ " + bytes.map { String(format: "0x%02x", $0) }.joined(separator: ", ") + " }\n"
        let path = NSTemporaryDirectory() + "holon-trafgen-\(getpid()).cfg"
        try conf.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let cpus = threads ?? Int(ProcessInfo.processInfo.activeProcessorCount)
        let errPath = path + ".err"
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        let p = try ChildProcess("/usr/sbin/ip", ["netns", "exec", topo.generatorNamespace, trafgen, "--dev", topo.generatorInterface,
                                                  "--conf", path, "--no-sock-mem", "--cpus", "\(cpus)", "--notouch-irq", "-C"],
                                 stderr: .file(errPath), ownGroup: true)
        var samples: [(UInt64, UInt64)] = [(monotonicNanoseconds(), count())]
        for _ in 0..<seconds {
            sleep(1)
            samples.append((monotonicNanoseconds(), count()))
        }
        p.stop(signal: SIGINT)
        if samples.last!.1 == samples.first!.1 {
            let errText = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            FileHandle.standardError.write("trafgen sent nothing: \(errText.suffix(400))\n".data(using: .utf8)!)
            return nil
        }
        return Self.steadyRate(samples)
    }
}

final class SampleBox: @unchecked Sendable { var samples: [(UInt64, UInt64)] = [] }
