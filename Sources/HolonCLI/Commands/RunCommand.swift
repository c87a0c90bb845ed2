import ArgumentParser
import Dataplane
import Foundation
import Generator
import Sidecar

/// `holon run`: the live loop over the attached filter (the sidecar).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Protect the filtered interface: learn normal traffic, detect attacks, install and retire rules (root).",
        discussion: """
        Needs the filter attached (`holon lab up && holon filter attach`). The detector learns the
        traffic the filter samples for --warmup, then opens an incident when the traffic drifts,
        writes rules into the filter within the same loop, and takes them out --hold after the
        attack is no longer seen. Rules with ids from 1,000,000,000 up are the sidecar's; rules you
        add with `holon rules add` are never touched. Ctrl-C stops the loop; installed rules stay
        (a later run adopts them and retires them at their TTL).
        """
    )

    @Option(help: "The filter samples one packet in this many.") var sampleEvery: UInt32 = 100
    @Option(help: "Learning time before detection (e.g. 10s, 500ms).") var warmup = "10s"
    @Option(help: "How long rules stay after their attack is last seen.") var hold = "10s"
    @Option(help: "Most rules the sidecar keeps installed.") var maxRules = 64
    @Option(help: "Stop after this long (default: until Ctrl-C).") var duration: String?
    @Flag(help: "One JSON object per event and per second, instead of log lines.") var json = false

    func run() throws {
        var config = SidecarConfig()
        guard sampleEvery >= 1 else { throw ValidationError("--sample-every must be ≥ 1") }
        guard maxRules >= 1 else { throw ValidationError("--max-rules must be ≥ 1") }
        config.sampleEvery = sampleEvery
        config.detector.warmup = try parseDuration(warmup)
        config.hold = try parseDuration(hold)
        config.maxRules = maxRules
        let stopAfter = try duration.map(parseDuration)

        let dp = try openFilter()
        let sidecar = Sidecar(dataplane: dp, config: config)
        StopSignal.install()
        defer { StopSignal.restore() }
        let start = Date()
        let limit = stopAfter.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        if !json {
            print("holon run: sampling 1 in \(sampleEvery), learning for \(warmup); Ctrl-C stops (rules stay)")
        }
        let tty = isatty(1) != 0
        try dataplaneStep { () throws(DataplaneError) in
            try sidecar.run(until: {
                StopSignal.requested || (limit.map { Date().timeIntervalSince(start) >= $0 } ?? false)
            }) { event in
                if json {
                    print(event.json)
                } else if case .heartbeat = event {
                    // The status line rewrites itself on a terminal; a log gets one every 10 s.
                    if tty {
                        print("\r\u{1B}[2K" + event.text, terminator: "")
                    } else if Int(Date().timeIntervalSince(start)) % 10 == 0 {
                        print(event.text)
                    }
                } else {
                    print((tty ? "\r\u{1B}[2K" : "") + event.text)
                }
                fflush(nil)
            }
        }
        if tty && !json { print("") }
        let s = sidecar.stats
        if !json {
            print("stopped: \(s.samples) samples, \(s.incidents) incident(s), \(s.rulesInstalled) rule(s) left in the filter")
        }
    }
}
