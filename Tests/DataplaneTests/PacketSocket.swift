import Glibc
import Lab

/// A raw AF_PACKET socket on one interface of one namespace: sends frames as they are and
/// receives everything the interface sees. (Glibc's overlay lacks sockaddr_ll; its 20-byte
/// layout is spelled out here.)
final class PacketSocket {
    struct SockaddrLL {
        var family: UInt16 = UInt16(AF_PACKET)
        var proto: UInt16 = UInt16(0x0003).bigEndian   // ETH_P_ALL
        var ifindex: Int32 = 0
        var hatype: UInt16 = 0
        var pkttype: UInt8 = 0
        var halen: UInt8 = 0
        var addr: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    let fd: Int32

    init(namespace: String, interface: String) throws {
        fd = try NetworkNamespace(namespace).run { () throws -> Int32 in
            let s = socket(AF_PACKET, Int32(SOCK_RAW.rawValue), Int32(UInt16(0x0003).bigEndian))
            guard s >= 0 else { throw TestFailure("socket: errno \(errno)") }
            var sa = SockaddrLL()
            sa.ifindex = Int32(if_nametoindex(interface))
            let r = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, 20) }
            }
            guard r == 0 else { close(s); throw TestFailure("bind: errno \(errno)") }
            return s
        }
        var big: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, 4)
    }

    deinit { close(fd) }

    /// Sends frames, pausing every `burst` so the veth ring (256 frames) never overflows:
    /// a frame the ring refuses never reaches XDP and would break exact counts.
    func send(_ frames: [[UInt8]], burst: Int = 32) {
        for (i, f) in frames.enumerated() {
            _ = f.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            if i % burst == burst - 1 { usleep(500) }
        }
    }

    /// Receives frames for up to `seconds`, returning those `keep` accepts.
    func receive(for seconds: Double, keep: ([UInt8]) -> Bool) -> [[UInt8]] {
        var tv = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var out: [[UInt8]] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let deadline = now() + seconds
        while now() < deadline {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                let f = Array(buf[0..<n])
                if keep(f) { out.append(f) }
            }
        }
        return out
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
