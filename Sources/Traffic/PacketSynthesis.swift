import Packets

// Features are made directly (no bytes) on the hot path; `PacketSynthesis.build(_:into:)` turns
// them into a frame that parses back to the same features. Each helper gives the packet a zero
// payload head of the captured length; a packet kind with payload bytes of its own (DNS, QUIC,
// RTP, an attack's marker) replaces it with a ``HeadBytes`` head.

/// Ethernet frame length for an IP packet of `ipLen` bytes (header 14, padded to 60).
@inline(__always)
func frameLength(ipLen: Int) -> UInt32 { UInt32(max(60, 14 + ipLen)) }

@inline(__always)
func ipv4Base(_ t: UInt64, proto: UInt8, src: UInt32, dst: UInt32, ttl: UInt8, df: Bool, id: UInt16,
              ipLen: Int) -> PacketFeatures {
    var f = PacketFeatures()
    f.timestamp = t
    f.ipVersion = 4
    f.proto = proto
    f.srcIP = .v4(src)
    f.dstIP = .v4(dst)
    f.ttl = ttl
    f.df = df
    f.ipID = UInt32(id)
    f.ipLen = UInt32(ipLen)
    f.wireLength = frameLength(ipLen: ipLen)
    return f
}

@inline(__always)
func tcpPacket(_ t: UInt64, src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16, flags: UInt8,
               window: UInt16, ttl: UInt8, df: Bool, id: UInt16, payload: Int) -> PacketFeatures {
    var f = ipv4Base(t, proto: IPProtocol.tcp, src: src, dst: dst, ttl: ttl, df: df, id: id, ipLen: 40 + payload)
    f.hasTransportHeader = true
    f.srcPort = sport
    f.dstPort = dport
    f.tcpFlags = flags
    f.tcpWindow = window
    f.payloadLen = UInt32(payload)
    f.payload = .zeros(payload: payload)
    return f
}

/// A UDP datagram, or with `mf` the first fragment of one (the UDP header and `payload` bytes).
@inline(__always)
func udpPacket(_ t: UInt64, src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16, ttl: UInt8, df: Bool,
               id: UInt16, payload: Int, mf: Bool = false) -> PacketFeatures {
    var f = ipv4Base(t, proto: IPProtocol.udp, src: src, dst: dst, ttl: ttl, df: df, id: id, ipLen: 28 + payload)
    f.hasTransportHeader = true
    f.srcPort = sport
    f.dstPort = dport
    f.mf = mf
    f.payloadLen = UInt32(payload)
    f.payload = .zeros(payload: payload)
    return f
}

@inline(__always)
func icmpPacket(_ t: UInt64, src: UInt32, dst: UInt32, type: UInt8, code: UInt8, ttl: UInt8, df: Bool,
                id: UInt16, payload: Int) -> PacketFeatures {
    var f = ipv4Base(t, proto: IPProtocol.icmp, src: src, dst: dst, ttl: ttl, df: df, id: id, ipLen: 28 + payload)
    f.hasTransportHeader = true
    f.icmpType = type
    f.icmpCode = code
    f.payloadLen = UInt32(payload)
    f.payload = .zeros(payload: payload)
    return f
}

/// A non-first fragment: `data` bytes at `offset` (8-byte units), no transport header.
@inline(__always)
func fragmentPacket(_ t: UInt64, proto: UInt8, src: UInt32, dst: UInt32, ttl: UInt8, id: UInt16,
                    offset: UInt16, mf: Bool, data: Int) -> PacketFeatures {
    var f = ipv4Base(t, proto: proto, src: src, dst: dst, ttl: ttl, df: false, id: id, ipLen: 20 + data)
    f.mf = mf
    f.fragOffset = offset
    f.payloadLen = UInt32(data)
    f.payload = .zeros(payload: data)
    return f
}

/// Turns synthesized features back into wire bytes.
public enum PacketSynthesis {
    /// A `PacketSpec` (Ethernet, IPv4, transport, payload length, padded to 60 bytes) whose bytes,
    /// with the payload head written after the headers (``build(_:into:)``), parse back to
    /// `features` (timestamp aside, which the capture carries).
    public static func spec(for f: PacketFeatures) -> PacketSpec {
        guard case .v4(let src) = f.srcIP, case .v4(let dst) = f.dstIP else {
            preconditionFailure("Traffic synthesizes IPv4 only")
        }
        var ip = PacketSpec.IPv4(source: src, destination: dst)
        ip.ttl = f.ttl
        ip.identification = UInt16(truncatingIfNeeded: f.ipID)
        ip.dscp = f.dscp
        ip.ecn = f.ecn
        ip.dontFragment = f.df
        ip.moreFragments = f.mf
        ip.fragmentOffset = f.fragOffset
        let transport: PacketSpec.Transport
        if !f.hasTransportHeader {
            transport = .none(proto: f.proto)
        } else {
            switch f.proto {
            case IPProtocol.tcp:
                let seq = UInt32(truncatingIfNeeded: (f.timestamp &* 0x9E37_79B9_7F4A_7C15) >> 32)
                let flags = TCPFlags(rawValue: f.tcpFlags)
                let ack: UInt32 = flags.contains(.ack) ? seq ^ 0x5A5A_5A5A : 0
                transport = .tcp(source: f.srcPort, destination: f.dstPort, flags: flags,
                                 window: f.tcpWindow, sequence: seq, acknowledgment: ack, urgentPointer: f.tcpUrgentPtr)
            case IPProtocol.udp:
                transport = .udp(source: f.srcPort, destination: f.dstPort)
            case IPProtocol.icmp:
                transport = .icmp(type: f.icmpType, code: f.icmpCode, rest: f.ipID << 16 | (f.ipID & 0xFF))
            default:
                transport = .none(proto: f.proto)
            }
        }
        return PacketSpec(ethernet: PacketSpec.Ethernet(), network: .v4(ip), transport: transport,
                          payloadLength: Int(f.payloadLen), minimumFrameLength: 60)
    }

    /// Builds the frame of `f` into `buffer`: the headers of ``spec(for:)``, the payload head's
    /// bytes, zeros after them (so the frame parses back to `f`, head included). Nil when the
    /// buffer is too small. Allocates nothing.
    public static func build(_ f: PacketFeatures, into buffer: UnsafeMutableRawBufferPointer) -> PacketLayout? {
        let s = spec(for: f)
        return f.payload.withBytes { head in PacketBuilder.build(s, payload: head, into: buffer) }
    }

    /// The packet's wire bytes (allocates: for tools and tests).
    public static func bytes(for f: PacketFeatures) -> [UInt8] {
        let s = spec(for: f)
        var out = [UInt8](repeating: 0, count: s.frameLength)
        out.withUnsafeMutableBytes { buf in
            f.payload.withBytes { head in _ = PacketBuilder.build(s, payload: head, into: buf) }
        }
        return out
    }
}

extension LabeledPacket {
    /// The `PacketSpec` that builds this packet's headers; its payload bytes are
    /// `features.payload` (``PacketSynthesis/build(_:into:)`` writes both).
    public var spec: PacketSpec { PacketSynthesis.spec(for: features) }
}
