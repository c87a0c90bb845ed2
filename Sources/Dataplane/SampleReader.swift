import CHolonXDP
import CLibBPF
import Foundation

/// Drains the sample ring buffer (libbpf's ring_buffer__poll). Not thread-safe: one reader,
/// one thread. For an async stream use ``Dataplane/samples()``.
public final class SampleReader: @unchecked Sendable {
    private var ring: OpaquePointer?
    private let box: Box
    /// Keeps the maps (and the ring's fd) alive while reading.
    private let dataplane: Dataplane

    final class Box {
        var pending: [DataplaneSample] = []
        let taiOffset = Int64(holon_tai_offset_ns())
        var keepingBytes: Bool
        init(keepingBytes: Bool) { self.keepingBytes = keepingBytes }
    }

    init(_ dp: Dataplane, keepingBytes: Bool) throws(DataplaneError) {
        dataplane = dp
        box = Box(keepingBytes: keepingBytes)
        let ctx = Unmanaged.passUnretained(box).toOpaque()
        let ring = ring_buffer__new(dp.fd(.samples), { ctx, data, size in
            let box = Unmanaged<SampleReader.Box>.fromOpaque(ctx!).takeUnretainedValue()
            box.pending.append(DataplaneSample(UnsafeRawPointer(data!), size: size, taiOffset: box.taiOffset, keepingBytes: box.keepingBytes))
            return 0
        }, ctx, nil)
        guard let ring else { throw .system("opening the sample ring", code: errno) }
        self.ring = ring
    }

    deinit { ring_buffer__free(ring) }

    /// Whether the samples read from now on keep their bytes (a capture waits for them).
    public func keepBytes(_ on: Bool) { box.keepingBytes = on }

    /// Waits up to `timeoutMilliseconds` for samples and returns what arrived (maybe none).
    public func poll(timeoutMilliseconds: Int32 = 100) throws(DataplaneError) -> [DataplaneSample] {
        let r = ring_buffer__poll(ring, timeoutMilliseconds)
        if r < 0 && -r != EINTR { throw .system("polling the sample ring", code: -r) }
        defer { box.pending.removeAll(keepingCapacity: true) }
        return box.pending
    }

    /// Returns every sample already in the ring, without waiting.
    public func drain() throws(DataplaneError) -> [DataplaneSample] {
        let r = ring_buffer__consume(ring)
        if r < 0 { throw .system("reading the sample ring", code: -r) }
        defer { box.pending.removeAll(keepingCapacity: true) }
        return box.pending
    }
}

extension Dataplane {
    /// A reader of the sample ring. Samples are parsed as they are read; their raw bytes are
    /// kept too only with `keepingBytes` (a capture needs them, the detector does not).
    public func sampleReader(keepingBytes: Bool = false) throws(DataplaneError) -> SampleReader {
        try SampleReader(self, keepingBytes: keepingBytes)
    }

    /// Samples as they arrive, polled on a dedicated thread until the consumer stops iterating.
    public func samples() throws(DataplaneError) -> AsyncStream<DataplaneSample> {
        let reader = try sampleReader()
        let (stream, continuation) = AsyncStream<DataplaneSample>.makeStream(bufferingPolicy: .bufferingNewest(65536))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let thread = Thread {
            while !stop.isSet {
                guard let batch = try? reader.poll(timeoutMilliseconds: 100) else { break }
                for s in batch { continuation.yield(s) }
            }
            continuation.finish()
        }
        thread.name = "holon-samples"
        thread.start()
        return stream
    }
}

/// A flag set from one thread and read from another.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
