import Packets

/// How a baseline packet is stored in a snapshot: the fields of ``PacketFeatures`` as of format
/// version 1, fixed width except the addresses (4 or 16 bytes), then (version 2) the payload
/// head, so a reservoir of 65,536 packets takes ~3 MB (~7 MB with heads).
/// A version-1 packet reads back with an empty head: the byte-rule deriver then knows the
/// baseline cannot say which payloads are normal, and writes no byte rule (``PayloadDeriver``). `tcpUrgentPtr` (added to the field table later) is not stored and reads back as 0:
/// the detector neither encodes it nor derives rules on it, and storing it means a version 2.
extension ByteWriter {
    mutating func packet(_ f: PacketFeatures, withPayload: Bool) {
        u64(f.timestamp)
        u32(f.wireLength)
        u8(f.ipVersion)
        u8(f.proto)
        address(f.srcIP)
        address(f.dstIP)
        u16(f.srcPort)
        u16(f.dstPort)
        u8((f.hasTransportHeader ? 1 : 0) | (f.df ? 2 : 0) | (f.mf ? 4 : 0))
        u8(f.tcpFlags)
        u8(f.ttl)
        u16(f.fragOffset)
        u32(f.ipID)
        u32(f.ipLen)
        u16(f.tcpWindow)
        u8(f.dscp)
        u8(f.ecn)
        u8(f.icmpType)
        u8(f.icmpCode)
        u32(f.payloadLen)
        u8(f.direction.map { UInt8($0.rawValue) + 1 } ?? 0)
        if withPayload {
            u8(UInt8(f.payload.count))
            append(f.payload.bytes)
        }
    }
}

extension ByteReader {
    /// The smallest stored packet (both addresses IPv4).
    static let minPacketSize = 8 + 4 + 1 + 1 + 5 + 5 + 2 + 2 + 1 + 1 + 1 + 2 + 4 + 4 + 2 + 1 + 1 + 1 + 1 + 4 + 1

    mutating func packet(withPayload: Bool) throws(SnapshotError) -> PacketFeatures {
        var f = PacketFeatures()
        f.timestamp = try u64()
        f.wireLength = try u32()
        f.ipVersion = try u8()
        f.proto = try u8()
        f.srcIP = try address()
        f.dstIP = try address()
        f.srcPort = try u16()
        f.dstPort = try u16()
        let flags = try u8()
        f.hasTransportHeader = flags & 1 != 0
        f.df = flags & 2 != 0
        f.mf = flags & 4 != 0
        f.tcpFlags = try u8()
        f.ttl = try u8()
        f.fragOffset = try u16()
        f.ipID = try u32()
        f.ipLen = try u32()
        f.tcpWindow = try u16()
        f.dscp = try u8()
        f.ecn = try u8()
        f.icmpType = try u8()
        f.icmpCode = try u8()
        f.payloadLen = try u32()
        let at = offset
        switch try u8() {
        case 0: f.direction = nil
        case let d:
            guard let dir = Direction(rawValue: Int(d) - 1) else { throw .malformed("packet direction \(d) at byte \(at)") }
            f.direction = dir
        }
        if withPayload {
            let n = Int(try u8())
            guard n <= PayloadHead.capacity else { throw .malformed("payload head of \(n) bytes at byte \(offset - 1)") }
            var head = [UInt8](repeating: 0, count: n)
            for i in 0..<n { head[i] = try u8() }
            f.payload = PayloadHead(head)
        }
        return f
    }
}
