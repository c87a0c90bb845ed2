import Foundation
import Generator
import Lab
import Packets
import Spawn
import Testing
import TestSupport
import Traffic

let isRoot = geteuid() == 0

/// Checks the IPv4 header checksum and the TCP/UDP/ICMP checksum of an Ethernet/IPv4 frame.
func checksumsValid(_ frame: UnsafeRawBufferPointer) -> Bool {
    guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00 else { return false }
    let ihl = Int(frame[14] & 0x0F) * 4
    let header = UnsafeRawBufferPointer(rebasing: frame[14..<(14 + ihl)])
    guard Checksum.internet(header) == 0 else { return false }
    let total = Int(frame[16]) << 8 | Int(frame[17])
    let fragment = (Int(frame[20]) << 8 | Int(frame[21])) & 0x3FFF
    if fragment != 0 { return true }  // no whole transport segment to check
    let proto = frame[23]
    let l4 = UnsafeRawBufferPointer(rebasing: frame[(14 + ihl)..<(14 + total)])
    func be32(_ o: Int) -> UInt32 { UInt32(frame[o]) << 24 | UInt32(frame[o + 1]) << 16 | UInt32(frame[o + 2]) << 8 | UInt32(frame[o + 3]) }
    switch proto {
    case IPProtocol.udp, IPProtocol.tcp:
        let pseudo = Checksum.pseudoHeaderV4(source: be32(26), destination: be32(30), proto: proto, length: l4.count)
        return Checksum.finish(Checksum.sum(l4, initial: pseudo)) == 0
    case IPProtocol.icmp:
        return Checksum.internet(l4) == 0
    default:
        return true
    }
}

@Suite("Frames (no root)", .ownThread)
struct FrameTests {
    @Test func variedFramesKeepValidChecksums() {
        let s = Scenario(name: "t", seed: 7, phases: [
            ScenarioPhase(name: "mix", duration: 1, normalRate: 2000,
                          attack: AttackSpec(kind: .synFlood, rate: 8000, sources: .block("45.83.0.0/16"),
                                             victim: IPPrefix("198.51.100.0/24")!)),
        ])
        let plan = TrafficPlan.scenario(s, samples: 2048)
        let pool = FramePool(plan.phases[0].packets, source: MACAddress(0x02_00_00_00_00_01), destination: MACAddress(0x02_00_00_00_00_02))
        #expect(pool.count > 1900)
        let buf = UnsafeMutableRawPointer.allocate(byteCount: frameCapacity, alignment: 64)
        defer { buf.deallocate() }
        var cursor = FrameWriter(pool: pool, seed: 3)
        var sources = Set<UInt32>()
        for _ in 0..<5000 {
            let n = cursor.write(into: buf)
            let frame = UnsafeRawBufferPointer(start: buf, count: n)
            #expect(checksumsValid(frame))
            if frame[23] == IPProtocol.tcp && frame[47] == 0x02 && frame[22] == 243 {  // the SYN flood's TTL
                let src = UInt32(frame[26]) << 24 | UInt32(frame[27]) << 16 | UInt32(frame[28]) << 8 | UInt32(frame[29])
                #expect(src >> 16 == 0x2D53)
                sources.insert(src)
            }
        }
        #expect(sources.count > 3000)  // fresh spoofed sources, not the pool's 2048
    }

    @Test func profilesAndErrorsHaveNamesAndHints() {
        #expect(TrafficProfile("syn-flood") == .attack(.synFlood))
        #expect(TrafficProfile("udp64") == .udp64)
        #expect(TrafficProfile("nope") == nil)
        #expect(GeneratorError.unknownProfile("nope").description.contains("syn-flood"))
        #expect(GeneratorError.notRoot.description.contains("sudo"))
        #expect(GeneratorError.noSuchInterface("x0", namespace: "ns").description.contains("ip -n ns link"))
        #expect(GeneratorError.noDestinationMAC("x0").description.contains("--dst-mac"))
        let plan = TrafficPlan.scenario(.default)
        #expect(plan.phases.count == Scenario.default.phases.count)
        #expect(plan.phases[3].pps == 2_505_000)
    }

    @Test func badScenarioFileIsReported() throws {
        let path = NSTemporaryDirectory() + "holon-gtest-bad-\(getpid()).json"
        try #"{"name": "x", "seed": 1, "phases": [{"name": "a", "duration": -1}]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ScenarioError.self) { _ = try Scenario.load(path: path) }
    }
}

@Suite("Generator on veth (root)", .ownThread, .serialized, .enabled(if: isRoot))
struct LiveTests {
    init() { TestBed.removeStale() }

    func generate(_ plan: TrafficPlan, bed: TestBed, engine: EngineKind, threads: Int = 1) throws -> GeneratorReport {
        var o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name, engine: engine, threads: threads)
        o.peer = bed.receiverAddress  // exercise neighbour resolution
        return try TrafficGenerator(plan: plan, options: o).run()
    }

    /// Captures `count` IPv4 frames (not the testbed's own addresses) on the far side while
    /// `send` runs, then asks tcpdump for its verdict on every checksum; returns the capture's path.
    func capture(_ count: Int, on bed: TestBed, tag: String, while send: () throws -> Void) throws -> String {
        let pcap = NSTemporaryDirectory() + "holon-gtest-\(getpid())-\(tag).pcap"
        let tcpdump = try ChildProcess("/usr/sbin/ip", ["netns", "exec", bed.receiver.name, "tcpdump", "-i", bed.receiverInterface,
                                                         "-n", "-U", "-c", "\(count)", "-w", pcap, "ip and not net \(bed.subnet)"],
                                     ownGroup: true)
        defer { tcpdump.stop(signal: SIGINT) }
        usleep(1_000_000)
        try send()
        tcpdump.wait(timeout: 5)
        let check = try Spawn.run("/bin/sh", ["-c", "tcpdump -nn -vv -r \(pcap) 2>/dev/null | grep -ciE 'bad (udp |tcp |)cksum|incorrect'"])
        let bad = check.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(bad == "0", "tcpdump found bad checksums")
        return pcap
    }

    /// Every frame of a capture parsed, and how many had a bad checksum (by our own check).
    func readCapture(_ pcap: String) throws -> (frames: [PacketFeatures], invalid: Int) {
        let reader = try PcapReader(path: pcap)
        var frames: [PacketFeatures] = [], invalid = 0
        while let p = try reader.next() {
            if !checksumsValid(p.bytes) { invalid += 1 }
            var f = PacketFeatures()
            _ = try PacketParser.parse(p.bytes, into: &f)
            frames.append(f)
        }
        return (frames, invalid)
    }

    @Test func capturedFramesAreValidAndFollowTheScenario() throws {
        let bed = try TestBed()
        defer { bed.destroy() }
        let s = Scenario(name: "capture", seed: 11, phases: [
            ScenarioPhase(name: "flood", duration: 2, normalRate: 1000,
                          attack: AttackSpec(kind: .udpFlood, rate: 4000, sources: .block("45.83.0.0/16"))),
        ])
        let pcap = try capture(4000, on: bed, tag: "cap") {
            let report = try generate(.scenario(s), bed: bed, engine: .sendmmsg)
            // Most of the plan, not all of it: the pacer forgives a backlog after a stall of
            // over 20 ms, and beside the rest of the suite on 2 cores it sent 18,882 of 20,000
            // (CI, stop 28). The rate is what `rateHeld` judges; this test judges the frames.
            #expect(report.sent >= 7_500)
        }
        defer { try? FileManager.default.removeItem(atPath: pcap) }

        let (frames, invalid) = try readCapture(pcap)
        let total = frames.count
        var attack = 0
        var attackSources = Set<UInt32>(), attackPorts = Set<UInt16>()
        for f in frames {
            guard case .v4(let src) = f.srcIP else { continue }
            if f.proto == IPProtocol.udp && f.ttl == 52 && f.payloadLen == 512 {
                attack += 1
                #expect(src >> 16 == 0x2D53, "attack source \(IPAddress.v4(src)) outside 45.83.0.0/16")
                #expect(f.dstIP == .v4(0xC633_640A))
                attackSources.insert(src)
                attackPorts.insert(f.dstPort)
            } else {
                guard case .v4(let dst) = f.dstIP else { continue }
                #expect(dst >> 8 == 0xC63364, "normal traffic goes to 198.51.100.0/24")
            }
        }
        #expect(total == 4000)
        #expect(invalid == 0)
        // 4000 of 5000 pps are attack: 80 % ± 3 % (≈ 6 σ for 4000 packets).
        let share = Double(attack) / Double(total)
        #expect(abs(share - 0.8) < 0.03, "attack share \(share)")
        #expect(Double(attackSources.count) > 0.95 * Double(attack))   // spoofed: nearly all distinct
        #expect(Double(attackPorts.count) > 0.9 * Double(attack))      // random destination ports
    }

    /// XDP live frames: every copy of a frame is varied by the BPF program (spoofed source inside
    /// the attack's block, random destination port, incrementing IP ID) with valid checksums.
    @Test func xdpLiveVariesEveryCopy() throws {
        let bed = try TestBed()
        defer { bed.destroy() }
        // Live frames reach a veth peer only through XDP: a counter that passes them on to capture.
        let counter = try PacketCounter(interface: bed.receiverInterface, namespace: bed.receiver, passing: true)
        defer { counter.detach() }
        let s = Scenario(name: "xdp", seed: 5, phases: [
            ScenarioPhase(name: "flood", duration: 1, normalRate: 0,
                          attack: AttackSpec(kind: .udpFlood, rate: 20_000, sources: .block("45.83.0.0/16"))),
        ])
        var o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name, engine: .xdpLive, threads: 1)
        o.destinationMAC = try bed.receiverMAC()
        let pcap = try capture(4000, on: bed, tag: "xdp") {
            let report = try TrafficGenerator(plan: .scenario(s), options: o).run()
            // Most of the plan, not all of it: the pacer forgives a backlog after a stall of
            // over 20 ms, and beside the rest of the suite on 2 cores it sent 18,882 of 20,000
            // (CI, stop 28). The rate is what `rateHeld` judges; this test judges the frames.
            #expect(report.sent >= 15_000)
        }
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        let (frames, invalid) = try readCapture(pcap)
        let total = frames.count
        var sources = Set<UInt32>(), ports = Set<UInt16>(), ids = Set<UInt32>()
        for f in frames {
            guard case .v4(let src) = f.srcIP else { continue }
            #expect(src >> 16 == 0x2D53, "source \(IPAddress.v4(src)) outside 45.83.0.0/16")
            sources.insert(src)
            ports.insert(f.dstPort)
            ids.insert(f.ipID)
        }
        #expect(total == 4000)
        #expect(invalid == 0)
        // 4000 draws from 65,536 sources and ports: ~3880 distinct expected; a frame repeated
        // unvaried would give a handful.
        #expect(sources.count > 3700, "\(sources.count) distinct sources")
        #expect(ports.count > 3700, "\(ports.count) distinct destination ports")
        #expect(ids.count > 3900, "\(ids.count) distinct IP IDs")
    }

    /// The rate that arrived over 2.5 s of steady sending, and the run's report.
    func measureRate(_ pps: Double, engine: EngineKind) throws -> (received: Double, window: Double, report: GeneratorReport) {
        let bed = try TestBed()
        defer { bed.destroy() }
        let plan = TrafficPlan.profile(.udp64, pps: pps, duration: 4.5)
        var o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name, engine: engine, threads: 1)
        o.destinationMAC = try bed.receiverMAC()
        let gen = TrafficGenerator(plan: plan, options: o)
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Thread {
            do { box.report = try gen.run() } catch { box.error = error }
            done.signal()
        }.start()
        // Each read runs `ip`, which a loaded machine can take 100–200 ms to start: the read is
        // placed at the middle of the time it took, not at its start (a CI run measured 1 kpps
        // as 920 with the window timed from before the first read to after the last).
        func read() -> (count: UInt64, at: Date) {
            let before = Date()
            let c = bed.receiverCounters()?.rxPackets ?? 0
            return (c, before.addingTimeInterval(Date().timeIntervalSince(before) / 2))
        }
        usleep(1_200_000)
        let first = read()
        usleep(2_500_000)
        let last = read()
        done.wait()
        if let e = box.error { throw e }
        let window = last.at.timeIntervalSince(first.at)
        return (Double(last.count - first.count) / window, window, try #require(box.report))
    }

    /// Pacing holds the asked rate. The pacer's books must balance: what it sent plus what it
    /// skipped after stalls of over 20 ms is what the plan owed. What arrived must be the
    /// rate within 5 % (the window is timed with the wall clock, which a loaded machine
    /// stretches by a few percent: 2.6 % seen at 100 kpps), less at most what the pacer said it
    /// skipped: beside the rest of `swift test` on 2 cores, a CI run's sender lost 8 % of its
    /// time at 10 kpps. A pacing fault (a rate off by a factor, a stall not reported) is still
    /// outside both.
    @Test(arguments: [1_000.0, 10_000.0, 100_000.0])
    func rateHeld(_ pps: Double) throws {
        let (received, window, report) = try measureRate(pps, engine: .sendmmsg)
        let phase = try #require(report.phases.first)
        let owed = Double(phase.sent + phase.errors + phase.skipped)
        let planned = pps * phase.seconds
        #expect(abs(owed - planned) <= 0.01 * planned + 64, "sent \(phase.sent) + errors \(phase.errors) + skipped \(phase.skipped), planned \(Int(planned))")
        let skippedRate = Double(phase.skipped) / window
        let error = abs(received - pps) / pps
        print("rate: target \(Int(pps)) pps, received \(Int(received.rounded())) pps, error \(String(format: "%.3f", error * 100)) %, skipped \(phase.skipped)")
        #expect(received <= pps * 1.05, "target \(pps), received \(received) pps")
        #expect(received >= pps * 0.95 - skippedRate, "target \(pps), received \(received) pps, skipped \(phase.skipped)")
    }

    @Test(arguments: [EngineKind.txring, .xdpLive])
    func otherEnginesDeliverEveryPacket(_ engine: EngineKind) throws {
        let bed = try TestBed()
        defer { bed.destroy() }
        let mac = try bed.receiverMAC()
        // The counter drops everything, ARP included: give the MAC.
        let counter = try PacketCounter(interface: bed.receiverInterface, namespace: bed.receiver)
        defer { counter.detach() }
        var o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name, engine: engine, threads: 1)
        o.destinationMAC = mac
        let report = try TrafficGenerator(plan: .profile(.udp64, pps: 20_000, duration: 1), options: o).run()
        usleep(100_000)
        // At least 3/4 of the plan (a stall over 20 ms is forgiven, see above) and never more.
        #expect(report.sent > 15_000 && report.sent <= 20_050)
        #expect(counter.count == report.sent)
        #expect(report.delivered == report.sent)
        #expect(report.deliveryWarning == nil)
    }

    /// Issue 10: frames the receiving veth never took were reported as sent. XDP live frames
    /// redirected to a veth whose peer runs no XDP program vanish without an error: the report
    /// must say they were not delivered, and warn.
    @Test func undeliveredFramesAreReportedAndWarned() throws {
        let bed = try TestBed()
        defer { bed.destroy() }
        var o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name, engine: .xdpLive, threads: 1)
        o.destinationMAC = try bed.receiverMAC()
        let report = try TrafficGenerator(plan: .profile(.udp64, pps: 20_000, duration: 0.5), options: o).run()
        // Enough frames for the share below to mean something. Not the 10,000 the plan asks
        // for: beside the rest of `swift test` on 2 cores the pacer fell behind (8,971 sent);
        // the rate is what `rateHeld` and `holon bench generate` measure.
        #expect(report.sent > 5_000)
        let delivered = try #require(report.delivered)
        #expect(delivered < report.sent / 10, "delivered \(delivered) of \(report.sent)")
        #expect(report.deliveryWarning?.contains("left \(bed.senderInterface)") == true)
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(json.contains("\"delivered\":") && json.contains("\"txDropped\":"))
    }

    @Test func badArgumentsSayWhatToDo() throws {
        let bed = try TestBed()
        defer { bed.destroy() }
        let plan = TrafficPlan.profile(.udp64, pps: 1000, duration: 0.2)
        var o = GeneratorOptions(interface: "nosuch0", namespace: bed.sender.name, engine: .sendmmsg)
        #expect(throws: GeneratorError.noSuchInterface("nosuch0", namespace: bed.sender.name)) {
            _ = try TrafficGenerator(plan: plan, options: o).run()
        }
        o = GeneratorOptions(interface: "x", namespace: "holon-gtest-does-not-exist", engine: .sendmmsg)
        #expect(throws: GeneratorError.noSuchNamespace("holon-gtest-does-not-exist")) {
            _ = try TrafficGenerator(plan: plan, options: o).run()
        }
        try IPCommand.run(["-n", bed.sender.name, "link", "set", bed.senderInterface, "down"])
        o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name, engine: .sendmmsg)
        #expect(throws: GeneratorError.interfaceDown(bed.senderInterface)) {
            _ = try TrafficGenerator(plan: plan, options: o).run()
        }
    }

    @Test func stopRequestEndsEarlyWithAReport() throws {
        let bed = try TestBed()
        defer { bed.destroy() }
        let plan = TrafficPlan.profile(.udp64, pps: 10_000, duration: 30)
        var o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name, engine: .sendmmsg)
        o.destinationMAC = try bed.receiverMAC()
        // This run's flag: the process-wide one would stop the generators of tests running beside it.
        let stop = o.stop
        Thread { usleep(1_500_000); stop.request() }.start()
        let start = Date()
        let report = try TrafficGenerator(plan: plan, options: o).run()
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(report.interrupted)
        #expect(report.sent > 10_000)
    }

    /// Stopping one run leaves the others of the process sending: the stop flag was process-wide,
    /// and a test's stop (or a run's failed setup) interrupted generators of tests beside it.
    @Test func stoppingOneRunLeavesAnotherRunning() throws {
        let bed = try TestBed()
        defer { bed.destroy() }
        var o = GeneratorOptions(interface: bed.senderInterface, namespace: bed.sender.name, engine: .sendmmsg)
        o.destinationMAC = try bed.receiverMAC()
        var second = o
        second.stop = GeneratorRunStop()
        let other = second, stopped = o.stop
        final class Box: @unchecked Sendable { var report: GeneratorReport?; var error: Error? }
        let box = Box()
        let kept = Thread {
            do { box.report = try TrafficGenerator(plan: .profile(.udp64, pps: 5_000, duration: 2), options: other).run() } catch { box.error = error }
        }
        kept.start()
        Thread { usleep(500_000); stopped.request() }.start()
        let report = try TrafficGenerator(plan: .profile(.udp64, pps: 5_000, duration: 30), options: o).run()
        while !kept.isFinished { usleep(10_000) }
        #expect(report.interrupted)
        #expect(box.error == nil)
        #expect(box.report?.interrupted == false, "the run nobody stopped was interrupted")
        // Ran its whole plan: not interrupted (above), and most of the frames sent. At least 3/4,
        // as the other frames tests ask: beside the full suite on 2 cores it sent 9,492.
        #expect((box.report?.sent ?? 0) >= 7_500, "sent \(box.report?.sent ?? 0) of 10,000")
    }

    @Test func leavesNothingBehind() throws {
        do {
            let bed = try TestBed()
            bed.destroy()
        }
        let mine = Lab.owned(prefix: TestBed.prefix).filter { $0.hasPrefix("\(TestBed.prefix)-p\(getpid())-") }
        #expect(mine.isEmpty, "left over: \(mine)")
    }
}

final class ResultBox: @unchecked Sendable {
    var report: GeneratorReport?
    var error: (any Error)?
}
