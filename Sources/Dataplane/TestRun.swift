import CLibBPF
import Foundation

/// XDP return codes.
public enum XDPAction: UInt32, Sendable {
    case aborted = 0, drop = 1, pass = 2, tx = 3, redirect = 4
}

extension Dataplane {
    /// Runs the program on `frame` in the kernel (BPF_PROG_RUN), `repeat` times; returns the
    /// action and the kernel's mean time per run in ns. Maps, counters and samples are updated
    /// as for a real packet.
    public func testRun(_ frame: [UInt8], repeat count: UInt32 = 1) throws(DataplaneError) -> (action: XDPAction, nanoseconds: UInt32) {
        try Self.testRun(programFD: programFD, frame, repeat: count)
    }

    static func testRun(programFD: Int32, _ frame: [UInt8], repeat count: UInt32) throws(DataplaneError) -> (action: XDPAction, nanoseconds: UInt32) {
        var o = bpf_test_run_opts()
        o.sz = MemoryLayout<bpf_test_run_opts>.size
        o.data_size_in = UInt32(frame.count)
        o.repeat = Int32(bitPattern: count)
        let r = frame.withUnsafeBytes { b -> Int32 in
            o.data_in = b.baseAddress
            return bpf_prog_test_run_opts(programFD, &o)
        }
        try DataplaneError.check(r, "BPF_PROG_RUN")
        return (XDPAction(rawValue: o.retval) ?? .aborted, o.duration)
    }

    /// Runs the program `count` times on `frame` as live frames (BPF_F_TEST_XDP_LIVE_FRAMES):
    /// each run gets a fresh page-pool frame and its verdict is carried out (a drop frees it,
    /// a pass hands it to the stack of the calling thread's namespace). Returns wall-clock ns.
    public func liveFrames(_ frame: [UInt8], count: UInt32, batchSize: UInt32 = 256) throws(DataplaneError) -> UInt64 {
        try Self.liveFrames(programFD: programFD, frame, count: count, batchSize: batchSize)
    }

    static func liveFrames(programFD: Int32, _ frame: [UInt8], count: UInt32, batchSize: UInt32) throws(DataplaneError) -> UInt64 {
        var o = bpf_test_run_opts()
        o.sz = MemoryLayout<bpf_test_run_opts>.size
        o.data_size_in = UInt32(frame.count)
        o.repeat = Int32(bitPattern: count)
        o.flags = 1 << 1   // BPF_F_TEST_XDP_LIVE_FRAMES
        o.batch_size = batchSize
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = frame.withUnsafeBytes { b -> Int32 in
            o.data_in = b.baseAddress
            return bpf_prog_test_run_opts(programFD, &o)
        }
        try DataplaneError.check(r, "BPF_PROG_RUN (live frames)")
        return DispatchTime.now().uptimeNanoseconds - t0
    }
}
