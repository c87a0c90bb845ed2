import Foundation
import Generator
import TestSupport
import Testing
import Traffic

/// Issue 10: numbers out of range trapped (`--pps 1e308`, `--duration 1e300`), hung
/// (`--threads 1000`), ran flat out (`--pps 1e12`) or read as a flag (`--pps -5`).
@Suite("Generate limits (no root)", .ownThread)
struct GenerateLimitsTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return "\(error)" }
        return nil
    }

    @Test func ppsInRangeOrMax() throws {
        #expect(try GenerateLimits.pps("max") == nil)
        #expect(try GenerateLimits.pps("1000") == 1000)
        #expect(try GenerateLimits.pps("1e8") == 1e8)
        for bad in ["-5", "0", "1e12", "1e308", "inf", "nan", "abc"] {
            let m = message { _ = try GenerateLimits.pps(bad) }
            #expect(m?.hasPrefix("--pps must be > 0") == true && m?.contains("'\(bad)'") == true, "\(bad): \(m ?? "accepted")")
            #expect(m?.contains("\n") == false)
        }
    }

    @Test func durationThreadsAndRepeatInRange() throws {
        #expect(try GenerateLimits.duration(10) == 10)
        for bad in [1e300, -1, 0, .nan, .infinity, 86_401] {
            let m = message { _ = try GenerateLimits.duration(bad) }
            #expect(m?.hasPrefix("--duration must be > 0 and ≤ 86,400 seconds") == true, "\(bad): \(m ?? "accepted")")
        }
        #expect(try GenerateLimits.threads(8, cpus: 2) == 8)
        #expect(message { _ = try GenerateLimits.threads(1000, cpus: 2) } == "--threads must be 1…8 (4 per CPU, 2 CPU(s)); got 1000")
        #expect(message { _ = try GenerateLimits.threads(0, cpus: 2) } != nil)
        #expect(message { _ = try GenerateLimits.xdpRepeat(0) } != nil)
        #expect(message { _ = try GenerateLimits.xdpRepeat(1 << 31) } != nil)
        #expect(try GenerateLimits.xdpRepeat(65536) == 65536)
    }

    /// The library refuses such plans too, before it needs root or touches an interface.
    @Test func generatorRefusesOutOfRangePlans() {
        let o = GeneratorOptions(interface: "nosuch0", engine: .sendmmsg)
        for plan in [TrafficPlan.profile(.udp64, pps: 1e12, duration: 1), .profile(.udp64, pps: 1000, duration: 1e300)] {
            let m = message { _ = try TrafficGenerator(plan: plan, options: o).run() }
            #expect(m?.contains("outside") == true || m?.contains("lasts") == true, "\(m ?? "accepted")")
        }
        var many = o
        many.threads = 100_000
        let m = message { _ = try TrafficGenerator(plan: .profile(.udp64, pps: 1000, duration: 1), options: many).run() }
        #expect(m?.hasPrefix("--threads must be") == true)
    }

    @Test func scenarioRatesAndLengthChecked() {
        let fast = Scenario(name: "fast", seed: 1, phases: [ScenarioPhase(name: "a", duration: 1, normalRate: 1e12)])
        #expect(message { try GenerateLimits.check(fast) }?.contains("phase 'a' asks for 1000000000000 packets per second") == true)
        let long = Scenario(name: "long", seed: 1, phases: (0..<3).map { ScenarioPhase(name: "p\($0)", duration: 50_000, normalRate: 10) })
        #expect(message { try GenerateLimits.check(long) }?.contains("lasts 150000 seconds") == true)
        #expect(message { try GenerateLimits.check(Scenario.default) } == nil)
    }

    /// The command line itself: one line on stderr, exit 2, nothing sent (no root needed: the
    /// checks come first). Runs the built `holon` next to the test bundle.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: Tools.holon)),
          arguments: [
              (["--pps", "-5"], "--pps must be > 0"),
              (["--pps", "1e308"], "--pps must be > 0"),
              (["--pps", "1e12"], "--pps must be > 0"),
              (["--pps", "1000", "--duration", "1e300"], "--duration must be > 0"),
              (["--pps", "1000", "--duration", "-3"], "--duration must be > 0"),
              (["--pps", "1000", "--threads", "1000"], "--threads must be 1…"),
              (["--pps", "1000", "--xdp-repeat", "-1"], "--xdp-repeat must be 1…"),
          ])
    func commandLineRefusesOutOfRange(_ args: [String], _ expected: String) throws {
        var argv = ["generate", "--interface", "lo", "--profile", "udp64"] + args
        if !argv.contains("--duration") { argv += ["--duration", "1"] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Tools.holon)
        p.arguments = argv
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 2, "\(argv): \(text)")
        #expect(text.hasPrefix("holon generate: \(expected)"), "\(argv): \(text)")
        #expect(text.split(separator: "\n").count == 1, "one line: \(text)")
    }
}


@Suite("Delivery (no root)", .ownThread)
struct DeliveryTests {
    @Test func deliveredIsTheInterfaceCountCappedAtSent() {
        let before = InterfaceCounters(rxPackets: 0, rxDropped: 0, txPackets: 100, txDropped: 5)
        let after = InterfaceCounters(rxPackets: 0, rxDropped: 0, txPackets: 1_100, txDropped: 9_005)
        let d = Delivery.measure(before: before, after: after, sent: 10_000)
        #expect(d.delivered == 1_000 && d.dropped == 9_000)
        // The kernel's own frames (ARP) do not make more delivered than sent.
        #expect(Delivery.measure(before: before, after: after, sent: 900).delivered == 900)
        #expect(Delivery.measure(before: nil, after: after, sent: 10).delivered == nil)
    }
}
