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
        """)

    @Option(help: "Output pcap file.") var out: String
    @Option(help: "Stop after this many samples (default: until interrupted).") var count: Int?
    @Option(help: "Also set the sampling rate: one packet in N.") var sampleEvery: UInt32?
    @OptionGroup var target: TargetOptions

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
        let writer = try PcapWriter(path: out)
        // Flush and close on Ctrl-C so the file is always readable.
        signal(SIGINT) { _ in CaptureCommand.interrupted = true }
        var written = 0
        while !CaptureCommand.interrupted && (count.map { written < $0 } ?? true) {
            let batch = try dataplaneStep { () throws(DataplaneError) in try reader.poll(timeoutMilliseconds: 200) }
            for s in batch where s.timestamp >= start {
                if let c = count, written >= c { break }
                try writer.write(s.bytes, timestamp: s.timestamp, originalLength: Int(s.wireLength))
                written += 1
            }
        }
        try writer.close()
        FileHandle.standardError.write("captured \(written) samples to \(out)\n".data(using: .utf8)!)
    }

    nonisolated(unsafe) static var interrupted = false
}
