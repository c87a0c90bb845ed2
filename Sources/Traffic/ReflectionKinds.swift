import Packets

/// The packets of the reflection kinds whose every header varies with the server that reflects
/// them (``AttackKind/synAckReflection``, ``AttackKind/dnsCarpet``): nothing but the service
/// and the flags is common to the whole attack.
extension AttackTraffic {
    /// SYN windows of common server stacks (Linux, Windows, BSD, appliances, CDNs).
    static let serverWindows: [UInt16] = [29200, 28960, 65535, 64240, 14600, 5840, 8192, 26883, 43690, 65160, 16384, 4380]

    /// A server's answer to a SYN spoofed with the victim's address, from port 80 or 443 with
    /// the server's own window, TTL and DF: a SYN-ACK where the port is open; a RST-ACK with a
    /// zero window from the servers (one in four) where it is closed.
    @inline(__always)
    mutating func synAck(_ t: UInt64) -> PacketFeatures {
        let s = source()
        let r = reflector(s)
        let h = SplitMix64.mix(UInt64(s), 91)
        let window = Self.serverWindows[Int(h % UInt64(Self.serverWindows.count))]
        let closed = (h >> 32) & 3 == 0
        return tcpPacket(t, src: s, dst: target(), sport: rng.chance(0.5) ? 443 : 80,
                         dport: UInt16(rng.between(1024, 65535)), flags: closed ? 0x14 : 0x12,
                         window: closed ? 0 : window, ttl: r.ttl, df: r.df, id: rng.word16(), payload: 0)
    }

    /// A DNS answer of an ordinary size (IP length 60–500), like a site's own resolvers send.
    @inline(__always)
    mutating func carpetAnswer(_ t: UInt64) -> PacketFeatures {
        let s = source()
        let r = reflector(s)
        let ipLen = payload >= 0 ? payload + 28 : Int(rng.between(60, 500))
        var f = udpPacket(t, src: s, dst: target(), sport: 53, dport: UInt16(rng.between(1024, 65535)),
                          ttl: r.ttl, df: r.df, id: rng.word16(), payload: ipLen - 28)
        let name = Int(rng.below(UInt32(ProtocolHeads.dnsNames.count)))
        let type = ProtocolHeads.dnsType(&rng)
        let room = ipLen - 28 - ProtocolHeads.dnsQueryLength(name: name)
        let answers = max(1, min(8, room / ProtocolHeads.dnsAnswerLength(type: type)))
        f.payload = ProtocolHeads.dnsResponse(name: name, type: type, answers: answers, &rng).head(payload: ipLen - 28)
        return f
    }
}
