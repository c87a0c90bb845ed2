import CGeneratorShim
import CLibBPF
import Foundation

/// The three ways the generator puts frames on an interface.
public enum EngineKind: String, CaseIterable, Sendable, Codable {
    /// AF_PACKET, `sendmmsg` batches, PACKET_QDISC_BYPASS.
    case sendmmsg
    /// AF_PACKET PACKET_MMAP TX ring (TPACKET_V2), PACKET_QDISC_BYPASS.
    case txring
    /// BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: an XDP program run `repeat` times per frame
    /// varies each copy and returns XDP_TX; the kernel transmits it out of the interface.
    case xdpLive = "xdp-live"

    /// Fastest first: the order `auto` tries for rates above ``socketEngineRate``.
    public static let preference: [EngineKind] = [.xdpLive, .sendmmsg, .txring]
    /// Up to this many packets per second `auto` prefers sendmmsg, which varies every packet
    /// of a mix (XDP live frames repeat one template per kernel call).
    public static let socketEngineRate = 400_000.0
}

/// Counts from one `transmit` call.
public struct SendResult: Sendable {
    public var sent: Int
    public var errors: Int
    /// An errno that means this engine cannot go on (the interface vanished, say).
    public var fatal: Int32?
}

/// A per-thread transmitter. Create it on the thread that will use it, inside the interface's
/// namespace.
public protocol FrameSender: AnyObject {
    var kind: EngineKind { get }
    /// Most frames one `transmit` call takes.
    var maxBatch: Int { get }
    /// Seconds of traffic one paced call should carry (calls that cost more send bigger chunks).
    var pacingQuantum: Double { get }
    /// Sends up to `count` frames; `fill` writes a frame into a buffer of `frameCapacity` bytes.
    /// The XDP engine calls `fill` once and sends `count` copies of that frame, each varied by the
    /// BPF program as the frame's metadata says.
    func transmit(count: Int, fill: (UnsafeMutableRawPointer) -> WrittenFrame) -> SendResult
    func close()
}

/// Bytes reserved per frame buffer (any Ethernet frame up to a 1500-byte MTU, plus VLAN tags).
public let frameCapacity = 2048

func isFatal(_ e: Int32) -> Bool { e == ENXIO || e == ENODEV || e == ENETDOWN || e == EBADF || e == EPERM || e == EINVAL || e == EMSGSIZE }

/// AF_PACKET + sendmmsg.
public final class SendmmsgSender: FrameSender {
    public let kind = EngineKind.sendmmsg
    public let maxBatch: Int
    public let pacingQuantum = 0.0002
    let fd: Int32
    let buffers: UnsafeMutableRawPointer
    let pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let lengths: UnsafeMutablePointer<UInt32>

    public init(ifindex: Int32, batch: Int = 64) throws(GeneratorError) {
        let fd = hg_packet_socket(ifindex, 1, 4 << 20)
        if fd < 0 {
            if fd == -EPERM { throw .notRoot }
            throw .system("AF_PACKET socket", -fd)
        }
        self.fd = fd
        maxBatch = max(1, min(batch, 1024))
        buffers = .allocate(byteCount: maxBatch * frameCapacity, alignment: 64)
        pointers = .allocate(capacity: maxBatch)
        lengths = .allocate(capacity: maxBatch)
        for i in 0..<maxBatch { pointers[i] = buffers + i * frameCapacity }
    }

    public func transmit(count: Int, fill: (UnsafeMutableRawPointer) -> WrittenFrame) -> SendResult {
        let n = min(count, maxBatch)
        for i in 0..<n { lengths[i] = UInt32(fill(buffers + i * frameCapacity).length) }
        var off = 0
        while off < n {
            let r = hg_sendmmsg(fd, pointers + off, lengths + off, Int32(n - off))
            if r > 0 { off += Int(r); continue }
            let e = -r
            return SendResult(sent: off, errors: n - off, fatal: r < 0 && isFatal(e) ? e : nil)
        }
        return SendResult(sent: n, errors: 0, fatal: nil)
    }

    public func close() {
        Glibc.close(fd)
        buffers.deallocate()
        pointers.deallocate()
        lengths.deallocate()
    }
}

/// AF_PACKET PACKET_MMAP TX ring (TPACKET_V2).
public final class TxRingSender: FrameSender {
    public let kind = EngineKind.txring
    public let maxBatch: Int
    public let pacingQuantum = 0.0002
    let fd: Int32
    let ring: UnsafeMutableRawPointer
    let ringLength: Int
    let slots: Int
    let slotSize = 2048
    var head = 0

    public init(ifindex: Int32, slots requested: Int = 2048, batch: Int = 256) throws(GeneratorError) {
        let fd = hg_packet_socket(ifindex, 1, 4 << 20)
        if fd < 0 {
            if fd == -EPERM { throw .notRoot }
            throw .system("AF_PACKET socket", -fd)
        }
        var ring: UnsafeMutableRawPointer?
        var len = 0
        let n = hg_txring_setup(fd, UInt32(slotSize), UInt32(requested), &ring, &len)
        if n < 0 {
            Glibc.close(fd)
            throw .engineUnavailable(.txring, "PACKET_TX_RING: \(String(cString: strerror(-n)))")
        }
        self.fd = fd
        self.ring = ring!
        ringLength = len
        slots = Int(n)
        maxBatch = min(batch, slots / 2)
    }

    public func transmit(count: Int, fill: (UnsafeMutableRawPointer) -> WrittenFrame) -> SendResult {
        let n = min(count, maxBatch)
        var filled = 0
        var kicked = false
        while filled < n {
            let slot = ring + head * slotSize
            if hg_txring_busy(slot) != 0 {
                // The kernel still owns it: push what is queued, then wait for it once.
                if kicked { break }
                let r = hg_txring_kick(fd, 1)
                kicked = true
                if r < 0 && isFatal(Int32(-r)) { return SendResult(sent: 0, errors: n, fatal: Int32(-r)) }
                if hg_txring_busy(slot) != 0 { break }
            }
            let len = fill(hg_txring_data(slot)).length
            hg_txring_commit(slot, UInt32(len))
            head += 1
            if head == slots { head = 0 }
            filled += 1
        }
        if filled == 0 { return SendResult(sent: 0, errors: n, fatal: nil) }
        let r = hg_txring_kick(fd, 0)
        if r < 0 && r != -Int(EAGAIN) && r != -Int(ENOBUFS) {
            let e = Int32(-r)
            return SendResult(sent: 0, errors: n, fatal: isFatal(e) ? e : nil)
        }
        return SendResult(sent: filled, errors: n - filled, fatal: nil)
    }

    public func close() {
        munmap(ring, ringLength)
        Glibc.close(fd)
    }
}

/// XDP live frames: BPF_PROG_RUN of the generator's XDP program (``LiveFrameProgram``) with
/// BPF_F_TEST_XDP_LIVE_FRAMES. Each call sends `count` copies of one frame, each varied by the
/// program and transmitted with XDP_TX; the run happens on the calling thread's CPU, in its
/// network namespace.
public final class XDPLiveSender: FrameSender {
    public let kind = EngineKind.xdpLive
    public let maxBatch: Int
    /// Every BPF_PROG_RUN call in live mode sets up and tears down a page pool, which costs
    /// ~25–30 ms here (the teardown waits for RCU) whatever the repeat count: pace in 50 ms
    /// chunks, sent back to back.
    public let pacingQuantum = 0.05
    let program: LiveFrameProgram
    let ifindex: Int32
    let buffer: UnsafeMutableRawPointer
    let kernelBatch: UInt32

    /// `repeatLimit`: most copies of one frame per BPF_PROG_RUN call (how long one template
    /// lasts before the next); `kernelBatch`: frames per kernel batch (≤ 256). Without a
    /// `program`, frames go out as built.
    public init(ifindex: Int32, program: LiveFrameProgram? = nil, repeatLimit: Int = 1 << 16, kernelBatch: Int = 64) throws(GeneratorError) {
        if let program { self.program = program } else { self.program = try LiveFrameProgram() }
        self.ifindex = ifindex
        maxBatch = max(1, repeatLimit)
        self.kernelBatch = UInt32(max(1, min(256, kernelBatch)))
        buffer = .allocate(byteCount: frameCapacity + 64, alignment: 64)
    }

    public func transmit(count: Int, fill: (UnsafeMutableRawPointer) -> WrittenFrame) -> SendResult {
        let n = min(count, maxBatch)
        // The metadata goes in front of the frame: BPF_PROG_RUN takes the first ctx.data bytes
        // of data_in as XDP metadata.
        let metaSize = MemoryLayout<hg_frame_meta>.size
        let frame = fill(buffer + metaSize)
        buffer.storeBytes(of: frame.meta, as: hg_frame_meta.self)
        let len = metaSize + frame.length
        var ctx = xdp_md()
        ctx.data = UInt32(metaSize)
        ctx.data_end = UInt32(len)
        ctx.ingress_ifindex = UInt32(ifindex)
        var opts = bpf_test_run_opts()
        opts.sz = MemoryLayout<bpf_test_run_opts>.size
        opts.data_in = UnsafeRawPointer(buffer)
        opts.data_size_in = UInt32(len)
        opts.repeat = Int32(n)
        opts.flags = UInt32(BPF_F_TEST_XDP_LIVE_FRAMES)
        opts.batch_size = kernelBatch
        let rc = withUnsafePointer(to: &ctx) { p -> Int32 in
            opts.ctx_in = UnsafeRawPointer(p)
            opts.ctx_size_in = UInt32(MemoryLayout<xdp_md>.size)
            return bpf_prog_test_run_opts(program.programFD, &opts)
        }
        if rc < 0 {
            let e = Int32(-rc)
            return SendResult(sent: 0, errors: n, fatal: isFatal(e) || e == EOPNOTSUPP ? e : nil)
        }
        return SendResult(sent: n, errors: 0, fatal: nil)
    }

    public func close() {
        buffer.deallocate()
    }
}

/// Engine settings shared by every thread.
public struct EngineSettings: Sendable {
    public var batch = 256
    public var txRingSlots = 2048
    public var xdpRepeat = 1 << 16
    public var xdpKernelBatch = 64

    public init() {}

    func make(_ kind: EngineKind, ifindex: Int32, xdpProgram: LiveFrameProgram?) throws(GeneratorError) -> any FrameSender {
        switch kind {
        case .sendmmsg: return try SendmmsgSender(ifindex: ifindex, batch: batch)
        case .txring: return try TxRingSender(ifindex: ifindex, slots: txRingSlots, batch: max(batch, 64) * 4)
        case .xdpLive: return try XDPLiveSender(ifindex: ifindex, program: xdpProgram, repeatLimit: xdpRepeat, kernelBatch: xdpKernelBatch)
        }
    }
}
