import ArgumentParser
import Dataplane
import Foundation
import Packets

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Write the filter's samples (first 256 bytes, dropped packets too) to a pcap file.",
        discussion: """
        The samples from the moment it starts. Beside a running `holon run` it is refused: the \
        sample ring has one reader position, and a second reader would take samples from the \
        loop's detector. Ask the loop instead: GET /api/capture?count=N&seconds=S on its \
        dashboard's address (the dashboard's "capture" button).

        Ctrl-C, SIGTERM (`timeout 60 holon capture …`, `kill`) or --count ends it; the file \
        appears at --out, whole, only then.
        """)

    @Option(help: "Output pcap file.") var out: String
    @Option(help: "Stop after this many samples (default: until interrupted).") var count: Int?
    @Option(help: "Also set the sampling rate: one packet in N.") var sampleEvery: UInt32?
    @OptionGroup var target: TargetOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be 1 or more (leave it out to capture until interrupted), not \(count)") }
        if sampleEvery == 0 { throw ValidationError("--sample-every must be 1 or more: one packet in N") }
    }

    func run() throws {
        let dp = try openFilter(target)
        // The ring has one read position: a second reader takes samples from the loop's
        // detector (each goes to whichever reads first), which then sees part of the traffic.
        if let o = dp.options, let pid = FilterLease.holder(o) {
            throw InputError("holon run (pid \(pid)) reads \(o.interface)'s samples: a capture beside it would take them from its detector; "
                             + "GET /api/capture?count=N&interface=\(o.interface) on its dashboard hands them over (nothing was captured)")
        }
        if let n = sampleEvery { try dataplaneStep { () throws(DataplaneError) in try dp.setSampleEvery(n) } }
        let reader = try dataplaneStep { () throws(DataplaneError) in try dp.sampleReader(keepingBytes: true) }
        // What the ring held before this command is old traffic (a capture wrote samples of a
        // flood 40 s gone): left out, as `holon run` leaves it out.
        let start = dp.now()
        _ = try dataplaneStep { () throws(DataplaneError) in try reader.drain() }
        let fullBefore = (try? dp.stats())?.ringFull
        let writer = try PcapWriter(path: out)
        // Ctrl-C and SIGTERM end the capture rather than the process, so the file is closed and
        // put in place: killed by `timeout`, it was left as an unnamed temporary file.
        StopSignal.install()
        defer { StopSignal.restore() }
        let progress = CaptureProgress(interface: dp.options?.interface ?? target.interface ?? "the filter", out: out)
        var written = 0
        while !StopSignal.requested && (count.map { written < $0 } ?? true) {
            let batch = try dataplaneStep { () throws(DataplaneError) in try reader.poll(timeoutMilliseconds: 200) }
            for s in batch where s.timestamp >= start {
                if let c = count, written >= c { break }
                try writer.write(s.bytes, timestamp: s.timestamp, originalLength: Int(s.wireLength))
                written += 1
            }
            progress.update(written)
        }
        progress.finish()
        try writer.close()
        FileHandle.standardError.write("captured \(written) samples to \(out)\n".data(using: .utf8)!)
        // Samples the filter took and had no room for: the capture is missing them.
        if let before = fullBefore, let after = (try? dp.stats())?.ringFull, after > before {
            FileHandle.standardError.write("holon capture: warning: \(after - before) samples were lost to a full ring while it ran (it read too slowly): the file holds fewer than the filter took; raise --sample-every\n".data(using: .utf8)!)
        }
    }
}

/// `holon capture`'s progress line on stderr (a terminal only): the samples written so far, so a
/// capture on a quiet interface does not look hung.
private struct CaptureProgress {
    let interface: String
    let out: String
    let enabled = isatty(2) != 0

    func update(_ written: Int) {
        guard enabled else { return }
        FileHandle.standardError.write("\rcapturing \(interface)'s samples to \(out): \(written) (Ctrl-C ends)".data(using: .utf8)!)
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write("\r\u{1B}[2K".data(using: .utf8)!)
    }
}
