import Packets

/// One QUIC connection from a client to a service host, seen from the host's side (client to
/// server datagrams only).
struct QUICConnection {
    var server: UInt32 = 0
    var clientPort: UInt16 = 0
    /// The random destination ID a client picks for its first Initial, its own source ID, and
    /// the ID the server chose, which every later packet carries.
    var initialDCID: UInt64 = 0
    var clientCID: UInt64 = 0
    var serverCID: UInt64 = 0
    var step: UInt16 = 0
    var length: UInt16 = 0
}

/// One RTP media stream into a service host.
struct RTPStream {
    var client: Client = Client(ip: 0, ttl: 0, os: 0)
    var server: UInt32 = 0
    var clientPort: UInt16 = 0
    var serverPort: UInt16 = 0
    var payloadType: UInt8 = 0
    var sequence: UInt16 = 0
    var timestamp: UInt32 = 0
    var ssrc: UInt32 = 0
    var left: UInt32 = 0
}

/// Legitimate UDP to the profile's service hosts, with real payload heads: QUIC (handshake in long
/// headers, then short headers with the connection's ID), RTP (per-stream sequence, timestamp
/// and SSRC), DNS both ways. It draws from its own random stream, so adding these classes to a
/// profile leaves the other classes' draws alone.
struct ServiceTraffic {
    var rng: TrafficRandom
    let hosts: IPPrefix
    let clients: [Client]
    let resolvers: [Client]
    var quicPool: [QUICConnection]
    var quicClients: [Client]
    var rtpPool: [RTPStream]

    /// Connections and streams open at once: enough that no one of them dominates.
    static let connections = 256
    static let streams = 48

    init(profile: NormalProfile, clients: [Client], resolvers: [Client], seed: UInt64) {
        rng = TrafficRandom(seed: SplitMix64.mix(seed, 4))
        hosts = profile.services
        self.clients = clients
        self.resolvers = resolvers
        quicPool = Array(repeating: QUICConnection(), count: Self.connections)
        quicClients = Array(repeating: Client(ip: 0, ttl: 0, os: 0), count: Self.connections)
        rtpPool = Array(repeating: RTPStream(), count: Self.streams)
        // Open every connection and stream somewhere along its life, as the TCP flows are.
        for i in 0..<Self.connections {
            openQUIC(i, clients[Int(rng.below(UInt32(clients.count)))])
            quicPool[i].step = UInt16(rng.below(UInt32(quicPool[i].length)))
        }
        for i in 0..<Self.streams {
            openRTP(i, clients[Int(rng.below(UInt32(clients.count)))])
            rtpPool[i].left = rng.between(1, rtpPool[i].left)
        }
    }

    @inline(__always)
    mutating func host() -> UInt32 {
        hosts.length == 32 ? hosts.ipv4Network : hosts.ipv4Address(at: rng.word32())
    }

    mutating func openQUIC(_ i: Int, _ c: Client) {
        quicClients[i] = c
        quicPool[i] = QUICConnection(server: host(), clientPort: ClientOS.ephemeralPort(c.os, &rng),
                                     initialDCID: rng.next(), clientCID: rng.next(), serverCID: rng.next(),
                                     step: 0, length: UInt16(rng.between(8, 60)))
    }

    mutating func openRTP(_ i: Int, _ c: Client) {
        // PCMU, PCMA or Opus (the dynamic type WebRTC usually gives it).
        let k = rng.below(3)
        let type: UInt8 = k == 0 ? 0 : (k == 1 ? 8 : 111)
        rtpPool[i] = RTPStream(client: c, server: host(),
                               clientPort: UInt16(rng.between(8192, 16383)) * 2,
                               serverPort: UInt16(rng.between(8192, 16383)) * 2,
                               payloadType: type,
                               sequence: rng.word16(), timestamp: rng.word32(), ssrc: rng.word32(),
                               left: rng.between(500, 5000))
    }

    /// A client datagram of a QUIC connection to port 443; `c` opens the next connection when
    /// the picked one has ended.
    @inline(__always)
    mutating func quic(_ t: UInt64, _ c: Client) -> PacketFeatures {
        let i = Int(rng.below(UInt32(Self.connections)))
        if quicPool[i].step >= quicPool[i].length { openQUIC(i, c) }
        let q = quicPool[i]
        let client = quicClients[i]
        quicPool[i].step = q.step &+ 1
        let size: Int
        let head: HeadBytes
        switch q.step {
        case 0:
            // The first Initial, padded to at least 1200 bytes as RFC 9000 requires.
            size = Int(rng.between(1200, 1252))
            head = ProtocolHeads.quicLong(dcid: q.initialDCID, scid: q.clientCID, payload: size, &rng)
        case 1:
            // The second flight (Initial ACK coalesced with Handshake) to the server's ID.
            size = Int(rng.between(90, 320))
            head = ProtocolHeads.quicLong(dcid: q.serverCID, scid: q.clientCID, payload: size, &rng)
        default:
            // Mostly acknowledgements; now and then a request or an upload.
            size = rng.chance(0.7) ? Int(rng.between(30, 80)) : Int(rng.between(100, 1350))
            head = ProtocolHeads.quicShort(dcid: q.serverCID, &rng)
        }
        var f = udpPacket(t, src: client.ip, dst: q.server, sport: q.clientPort, dport: 443, ttl: client.ttl,
                          df: true, id: rng.word16(), payload: size)
        f.payload = head.head(payload: size)
        return f
    }

    /// One 20 ms media packet of an RTP stream: G.711 (types 0 and 8, 160 bytes at 8 kHz) or
    /// Opus (type 111, variable size, 48 kHz clock).
    @inline(__always)
    mutating func rtp(_ t: UInt64, _ c: Client) -> PacketFeatures {
        let i = Int(rng.below(UInt32(Self.streams)))
        if rtpPool[i].left == 0 { openRTP(i, c) }
        let s = rtpPool[i]
        let opus = s.payloadType == 111
        rtpPool[i].sequence = s.sequence &+ 1
        rtpPool[i].timestamp = s.timestamp &+ (opus ? 960 : 160)
        rtpPool[i].left = s.left - 1
        let size = 12 + (opus ? Int(rng.between(40, 160)) : 160)
        var f = udpPacket(t, src: s.client.ip, dst: s.server, sport: s.clientPort, dport: s.serverPort,
                          ttl: s.client.ttl, df: ClientOS.udpDF(s.client.os), id: rng.word16(), payload: size)
        f.payload = ProtocolHeads.rtp(payloadType: s.payloadType, sequence: s.sequence, timestamp: s.timestamp,
                                      ssrc: s.ssrc, &rng).head(payload: size)
        return f
    }

    /// A query from a client to the host's port 53, or an answer from an upstream resolver's
    /// port 53 to a lookup the host made.
    @inline(__always)
    mutating func dns(_ t: UInt64, _ c: Client) -> PacketFeatures {
        let name = Int(rng.below(UInt32(ProtocolHeads.dnsNames.count)))
        let type = ProtocolHeads.dnsType(&rng)
        if rng.chance(0.5) {
            let size = ProtocolHeads.dnsQueryLength(name: name)
            var f = udpPacket(t, src: c.ip, dst: host(), sport: ClientOS.ephemeralPort(c.os, &rng), dport: 53,
                              ttl: c.ttl, df: ClientOS.udpDF(c.os), id: rng.word16(), payload: size)
            f.payload = ProtocolHeads.dnsQuery(name: name, type: type, &rng).head(payload: size)
            return f
        }
        let r = resolvers[Int(rng.below(UInt32(resolvers.count)))]
        let answers = Int(rng.between(1, 4))
        let size = ProtocolHeads.dnsQueryLength(name: name) + answers * ProtocolHeads.dnsAnswerLength(type: type)
        var f = udpPacket(t, src: r.ip, dst: host(), sport: 53, dport: UInt16(rng.between(32768, 60999)),
                          ttl: r.ttl, df: false, id: rng.word16(), payload: size)
        f.payload = ProtocolHeads.dnsResponse(name: name, type: type, answers: answers, &rng).head(payload: size)
        return f
    }
}
