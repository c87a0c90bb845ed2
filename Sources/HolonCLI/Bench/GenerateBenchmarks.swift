import ArgumentParser
import Foundation
import Generator
import Packets

/// `holon bench generate`: every send engine and netsniff-ng's trafgen, in the same run, sending
/// the same 64-byte UDP frames over a veth pair in namespaces the bench makes; packets are
/// counted on the far side by an XDP program that counts and drops.
struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Traffic generator throughput (root): pps received per engine and for trafgen."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Seconds per engine.") var seconds = 5
    @Option(help: "Sender threads (default: one per core).") var threads: Int?
    @Option(help: "Frames per sendmmsg call.") var batch = 64
    @Option(help: "trafgen binary.") var trafgen = "/usr/sbin/trafgen"

    struct Line: Encodable {
        let name: String
        let value: Double
        let sent: UInt64?
        let seconds: Double
    }

    func emit(_ name: String, _ pps: Double, sent: UInt64?, seconds: Double) {
        if options.filter != nil && !name.contains(options.filter!) { return }
        if options.json {
            print(String(decoding: try! JSONEncoder().encode(Line(name: name, value: pps.rounded(), sent: sent, seconds: seconds)), as: UTF8.self))
        } else {
            print(pad(name, 36) + lpad(String(format: "%.0f pps", pps), 16))
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

    func run() throws {
        guard geteuid() == 0 else {
            FileHandle.standardError.write("holon bench generate: needs root (namespaces, raw sockets, BPF): run it with sudo\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
        VethTestbed.removeStale()
        let bed = try VethTestbed(tag: "\(getpid())-bench")
        defer { bed.destroy() }
        let dst = try bed.receiverMAC()
        // sendmmsg, txring and trafgen run against the receiver's ordinary stack, counted by its
        // rx counter: trafgen stalls once a veth with XDP applies backpressure. XDP live frames
        // need a native XDP program on the far side, so it runs last, against a counting one.
        let rxCount: @Sendable () -> UInt64 = { bed.receiverCounters()?.rxPackets ?? 0 }
        var counter: PacketCounter?
        defer { counter?.detach() }
        if !options.json { print(pad("benchmark", 36) + lpad("received", 16)) }

        let names = ["sendmmsg", "txring", "trafgen", "xdp-live"]
        for name in names {
            if let f = options.filter, !"generate.pps.\(name)".contains(f) { continue }
            FileHandle.standardError.write("generate.pps.\(name)…\r".data(using: .utf8)!)
            if name == "trafgen" {
                let (pps, secs) = try runTrafgen(bed: bed, count: rxCount, destination: dst)
                emit("generate.pps.trafgen", pps, sent: nil, seconds: secs)
                continue
            }
            var count = rxCount
            if name == "xdp-live" {
                let c = try PacketCounter(interface: bed.receiverInterface, namespace: bed.receiver)
                bed.threadedReceive()
                counter = c
                count = { c.count }
            }
            let plan = TrafficPlan.profile(.udp64, pps: nil, duration: Double(seconds))
            var o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name,
                                     engine: EngineKind(rawValue: name)!, threads: threads ?? Int(ProcessInfo.processInfo.activeProcessorCount),
                                     destinationMAC: dst)
            o.settings.batch = batch
            let gen = TrafficGenerator(plan: plan, options: o)
            let box = SampleBox()
            box.samples.append((monotonicNanoseconds(), count()))
            do {
                let report = try gen.run { _ in box.samples.append((monotonicNanoseconds(), count())) }
                box.samples.append((monotonicNanoseconds(), count()))
                emit("generate.pps.\(name)", Self.steadyRate(box.samples), sent: report.sent, seconds: report.seconds)
            } catch {
                FileHandle.standardError.write("generate.pps.\(name): \(error)\n".data(using: .utf8)!)
            }
        }
        FileHandle.standardError.write("\u{1B}[2K".data(using: .utf8)!)
    }

    /// trafgen with the generator's own first udp64 frame, all CPUs, for `seconds`.
    func runTrafgen(bed: VethTestbed, count: () -> UInt64, destination: MACAddress) throws -> (Double, Double) {
        let src = try NetworkNamespace.run(in: bed.sender) { try InterfaceInfo.lookup(bed.senderInterface).mac }
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
        let p = try ChildProcess("/usr/sbin/ip", ["netns", "exec", bed.sender.name, trafgen, "--dev", bed.senderInterface,
                                                  "--conf", path, "--no-sock-mem", "--cpus", "\(cpus)", "--notouch-irq", "-C"],
                                 stderrPath: errPath)
        var samples: [(UInt64, UInt64)] = [(monotonicNanoseconds(), count())]
        for _ in 0..<seconds {
            sleep(1)
            samples.append((monotonicNanoseconds(), count()))
        }
        p.stop()
        if samples.last!.1 == samples.first!.1 {
            let errText = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            FileHandle.standardError.write("trafgen sent nothing: \(errText.suffix(400))\n".data(using: .utf8)!)
        }
        let secs = Double(samples.last!.0 - samples.first!.0) / 1e9
        return (Self.steadyRate(samples), secs)
    }
}

final class SampleBox: @unchecked Sendable { var samples: [(UInt64, UInt64)] = [] }
