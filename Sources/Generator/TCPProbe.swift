import Foundation
import Lab
import Packets

/// A real TCP service and a real TCP client on kernel sockets, for measuring what a filter does
/// to legitimate connections: the server answers each connection's small request and closes;
/// the client opens connections at a fixed rate, each with a request and its response, and
/// records which succeeded and how long they took.
public final class TCPEchoServer: @unchecked Sendable {
    public let port: UInt16
    private let fd: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopping = false
    public private(set) var served = 0

    /// Listens on `port` inside `namespace` (all addresses) and serves from a thread of its own.
    public init(namespace: String, port: UInt16) throws {
        self.port = port
        fd = try NetworkNamespace.run(in: NetworkNamespace(namespace)) { () throws -> Int32 in
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard s >= 0 else { throw GeneratorError.system("socket", errno) }
            var one: Int32 = 1
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 4)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard ok == 0, listen(s, 4096) == 0 else {
                let e = errno
                close(s)
                throw GeneratorError.system("listening on port \(port)", e)
            }
            return s
        }
        Thread.detachNewThread { [self] in serve() }
    }

    private func serve() {
        defer { done.signal() }
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if lock.withLock({ stopping }) { return }
                continue
            }
            // A client that never sends must not stall the others for long.
            var tv = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 256)
            let n = read(c, &buf, buf.count)
            if n > 0 {
                _ = buf.withUnsafeBytes { write(c, $0.baseAddress!, n) }
                lock.withLock { served += 1 }
            }
            close(c)
        }
    }

    public func stop() {
        lock.withLock { stopping = true }
        shutdown(fd, Int32(SHUT_RDWR))
        done.wait()
        close(fd)
    }
}

/// One connection attempt: when it began (monotonic ns), whether the request got its answer,
/// and how long connect and the exchange took.
public struct ProbeResult: Sendable {
    public var startedNs: UInt64
    public var ok: Bool
    public var connectNs: UInt64
    public var totalNs: UInt64
}

public enum TCPProbeClient {
    /// Opens a connection to `server`:`port` every 1/`rate` s for `seconds`, from `namespace`,
    /// each in its own thread (a connect waiting out a dropped SYN must not slow the rate); a
    /// connection that has not answered within `timeout` s failed. Returns every attempt in order.
    public static func run(namespace: String, server: UInt32, port: UInt16, rate: Double, seconds: Double,
                           timeout: Double = 5) throws -> [ProbeResult] {
        let count = Int(rate * seconds)
        let results = ResultBox(count: count)
        let group = DispatchGroup()
        try NetworkNamespace.run(in: NetworkNamespace(namespace)) {
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<count {
                let due = start + UInt64(Double(i) / rate * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { usleep(UInt32((due - now) / 1000)) }
                // The socket is made here, inside the namespace; connect runs anywhere.
                let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard s >= 0 else { throw GeneratorError.system("socket", errno) }
                group.enter()
                Thread.detachNewThread {
                    results.set(i, attempt(s, server: server, port: port, timeout: timeout))
                    group.leave()
                }
            }
        }
        group.wait()
        return results.all
    }

    static func attempt(_ s: Int32, server: UInt32, port: UInt16, timeout: Double) -> ProbeResult {
        defer { close(s) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))   // bounds connect too
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = server.bigEndian
        let c = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let t1 = DispatchTime.now().uptimeNanoseconds
        guard c == 0 else { return ProbeResult(startedNs: t0, ok: false, connectNs: t1 - t0, totalNs: t1 - t0) }
        let request = Array("holon probe \(t0)\n".utf8)
        let w = request.withUnsafeBytes { write(s, $0.baseAddress!, $0.count) }
        var got = 0
        var buf = [UInt8](repeating: 0, count: 256)
        while w == request.count, got < request.count {
            let n = buf.withUnsafeMutableBytes { read(s, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            got += n
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        return ProbeResult(startedNs: t0, ok: got == request.count, connectNs: t1 - t0, totalNs: t2 - t0)
    }

    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [ProbeResult?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: ProbeResult) { lock.withLock { slots[i] = r } }
        var all: [ProbeResult] { lock.withLock { slots.compactMap { $0 } } }
    }
}
