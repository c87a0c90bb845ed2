import Dataplane
import Foundation
import Generator
import Packets
import TestSupport
import Testing

/// `holon capture` wrote what waited in the sample ring first: samples of a flood 40 s gone,
/// stamped then, before any of the traffic it was run to see. Beside a running `holon run` it
/// read the loop's ring too, and each sample went to one reader: the detector saw part of
/// the traffic, unsaid; `holon filter set --sample-every` beside it changed the sampling the
/// detector's rates assume.
@Suite("holon capture (root)", .ownThread, .serialized,
       .enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: Tools.holon), "needs root and the built holon"))
struct CaptureCommandTests {
    /// A private lab with its filter attached, sampling every packet; `holon capture`'s flags
    /// naming that filter.
    func sampledLab(_ short: String) throws -> (bed: DaemonLab, target: [String], dp: Dataplane) {
        let tag = "\(getpid() % 100_000)"
        let bed = try DaemonLab(.scratch(prefix: "holon-cap", tag: "\(short)\(tag)"), scratch: "holon-cap\(short)-\(tag)")
        do {
            let dp = try Dataplane.attach(bed.target).0
            try dp.setSampleEvery(1)
            return (bed, ["--interface", bed.target.interface, "--netns", bed.lab.topology.filterNamespace], dp)
        } catch {
            bed.close()
            throw error
        }
    }

    @Test(.timeLimitAfterTurn(minutes: 3)) func aCaptureHoldsTheTrafficFromItsStartAndIsRefusedBesideALoop() throws {
        let (bed, target, dp) = try sampledLab("cp")
        defer { bed.close() }
        // Old traffic, left in the ring: UDP to port 9.
        _ = try TrafficGenerator(plan: .profile(.udp64, pps: 2_000, duration: 0.5), options: bed.generatorOptions).run()
        usleep(300_000)

        let pcap = bed.dir + "/now.pcap"
        let capture = Process()
        capture.executableURL = URL(fileURLWithPath: Tools.holon)
        capture.arguments = ["capture", "--out", pcap, "--count", "100"] + target
        capture.standardError = FileHandle.nullDevice
        try capture.run()
        usleep(700_000)
        // New traffic: TCP SYNs, for long enough that a capture slow to start (a loaded
        // machine) still sees 100 of them.
        _ = try TrafficGenerator(plan: .profile(.attack(.synFlood), pps: 2_000, duration: 3), options: bed.generatorOptions).run()
        let deadline = Date().addingTimeInterval(20)
        while capture.isRunning && Date() < deadline { usleep(50_000) }
        if capture.isRunning { capture.terminate() }
        #expect(capture.terminationStatus == 0)
        let reader = try PcapReader(path: pcap)
        var udp9 = 0, syn = 0, frames = 0
        while let p = try reader.next() {
            frames += 1
            var f = PacketFeatures()
            // An ARP or neighbour frame may arrive meanwhile: counted, not parsed.
            guard (try? PacketParser.parse(p.bytes, into: &f)) != nil else { continue }
            if f.proto == IPProtocol.udp && f.dstPort == 9 { udp9 += 1 }
            if f.proto == IPProtocol.tcp { syn += 1 }
        }
        #expect(frames == 100 && udp9 == 0 && syn >= 90, "\(frames) frames: \(udp9) of the old UDP, \(syn) of the SYNs sent after the start")

        // Beside a loop (its lease held): refused, nothing changed.
        let lease = try FilterLease.acquire(bed.target)
        try withExtendedLifetime(lease) {
            let refused = try Tools.run(Tools.holon, ["capture", "--out", bed.dir + "/beside.pcap", "--count", "1"] + target)
            #expect(refused.status != 0 && refused.err.contains("a capture beside it would take them from its detector"), "\(refused)")
            #expect(!FileManager.default.fileExists(atPath: bed.dir + "/beside.pcap"))
            let sampling = try Tools.run(Tools.holon, ["filter", "set", "--sample-every", "5"] + target)
            #expect(sampling.status != 0 && sampling.err.contains("whose rates assume its own sampling"), "\(sampling)")
            #expect(try dp.settings().sampleEvery == 1)
            #expect(try Tools.run(Tools.holon, ["filter", "set", "--observe", "on"] + target).status == 0, "observe mode stays the operator's")
        }
    }

    /// Killed by SIGTERM (`timeout 60 holon capture`, systemd, `kill`), a capture left no file
    /// at --out, only an unnamed temporary one beside it: the samples it had were lost.
    @Test(.timeLimitAfterTurn(minutes: 3)) func aCaptureEndedBySIGTERMLeavesAWholeFile() throws {
        let (bed, target, _) = try sampledLab("ct")
        defer { bed.close() }

        let zero = try Tools.run(Tools.holon, ["capture", "--out", bed.dir + "/zero.pcap", "--count", "0"] + target)
        #expect(zero.status != 0 && zero.err.contains("--count must be 1 or more"), "\(zero)")

        let pcap = bed.dir + "/until.pcap"
        let capture = Process()
        capture.executableURL = URL(fileURLWithPath: Tools.holon)
        capture.arguments = ["capture", "--out", pcap] + target
        capture.standardError = FileHandle.nullDevice
        try capture.run()
        usleep(700_000)
        _ = try TrafficGenerator(plan: .profile(.udp64, pps: 1_000, duration: 2), options: bed.generatorOptions).run()
        usleep(500_000)
        capture.terminate()
        capture.waitUntilExit()
        #expect(capture.terminationReason == .exit && capture.terminationStatus == 0, "ended by SIGTERM, it closes its file and exits 0")
        let reader = try PcapReader(path: pcap)
        var frames = 0
        while try reader.next() != nil { frames += 1 }
        #expect(frames >= 100, "\(frames) samples of 2,000 packets sent while it ran")
        let left = try FileManager.default.contentsOfDirectory(atPath: bed.dir).filter { $0.contains(".tmp-") }
        #expect(left.isEmpty, "temporary files left: \(left)")
    }
}
