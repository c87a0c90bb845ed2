import Packets

/// Operating-system fingerprints of clients: initial TTL, SYN window, ephemeral ports, DF on UDP,
/// ping payload. 0 Linux, 1 Windows, 2 macOS.
enum ClientOS {
    @inline(__always) static func initialTTL(_ os: UInt8) -> UInt8 { os == 1 ? 128 : 64 }
    @inline(__always) static func synWindow(_ os: UInt8) -> UInt16 { os == 0 ? 64240 : 65535 }
    @inline(__always) static func udpDF(_ os: UInt8) -> Bool { os == 0 }
    @inline(__always) static func pingPayload(_ os: UInt8) -> Int { os == 1 ? 32 : 56 }
    @inline(__always) static func ephemeralPort(_ os: UInt8, _ rng: inout TrafficRandom) -> UInt16 {
        os == 0 ? UInt16(rng.between(32768, 60999)) : UInt16(rng.between(49152, 65535))
    }
    /// Window after the handshake (scaled, so small numbers).
    @inline(__always) static func flowWindow(_ os: UInt8, _ rng: inout TrafficRandom) -> UInt16 {
        switch os {
        case 0: return UInt16(rng.between(249, 4096))
        case 1: return UInt16(rng.between(1020, 8212))
        default: return UInt16(rng.between(2048, 6144))
        }
    }
}

struct Client {
    var ip: UInt32
    var ttl: UInt8
    var os: UInt8
}

/// One TCP connection in progress.
struct Flow {
    var client: UInt32 = 0
    var server: UInt32 = 0
    var clientPort: UInt16 = 0
    var serverPort: UInt16 = 0
    var step: UInt16 = 0
    var length: UInt16 = 0
    var ipID: UInt16 = 0
    var window: UInt16 = 0
}

/// Makes normal packets: a fixed population of clients and upstream servers (drawn from the
/// seed), a pool of TCP flows that advance through handshake, data and close.
struct NormalTraffic {
    var rng: TrafficRandom
    let clients: [Client]
    /// DNS resolvers then NTP servers, with their TTL as seen here.
    let upstream: [Client]
    let resolverCount: UInt32
    var flows: [Flow]
    /// Cumulative class thresholds.
    let t0, t1, t2, t3, t4, t5, t6: Double
    let net: IPPrefix
    let webPort: UInt16?
    /// QUIC, RTP and service DNS; nil when the profile has none (so profiles without them draw
    /// the same headers they drew before these classes existed, DNS query sizes aside: a query
    /// is now at least as long as its message).
    var services: ServiceTraffic?
    /// Payload bytes come from their own stream, so that filling heads leaves the header
    /// sequence of a seed unchanged.
    var bytesRNG: TrafficRandom
    /// ``NormalProfile/outboundTCP`` and where those answers go; their own generator, so that a
    /// profile without them draws exactly what it drew before.
    let outboundShare: Double
    let outboundHosts: IPPrefix
    var outboundRNG: TrafficRandom

    init(profile: NormalProfile, seed: UInt64) {
        var r = TrafficRandom(seed: SplitMix64.mix(seed, 1))
        net = profile.network
        webPort = profile.webPort.map { UInt16($0) }
        func publicAddress(_ r: inout TrafficRandom) -> UInt32 {
            while true {
                let a = r.word32()
                if isPublicUnicast(a) && !profile.network.contains(ipv4: a) { return a }
            }
        }
        var cs: [Client] = []
        cs.reserveCapacity(profile.clients)
        for _ in 0..<profile.clients {
            let u = r.unit()
            let os: UInt8 = u < 0.45 ? 0 : (u < 0.80 ? 1 : 2)
            let hops = UInt8(r.between(4, 24))
            cs.append(Client(ip: publicAddress(&r), ttl: ClientOS.initialTTL(os) - hops, os: os))
        }
        clients = cs
        var up: [Client] = []
        let ntpServers = 16
        for i in 0..<(profile.resolvers + ntpServers) {
            // Well-known public resolvers first, then others.
            let known: [UInt32] = [0x0808_0808, 0x0808_0404, 0x0101_0101, 0x0100_0001, 0x0909_0909]
            let ip = i < min(known.count, profile.resolvers) ? known[i] : publicAddress(&r)
            let base: UInt8 = r.chance(0.8) ? 64 : (r.chance(0.5) ? 128 : 255)
            up.append(Client(ip: ip, ttl: base - UInt8(r.between(3, 20)), os: 0))
        }
        upstream = up
        resolverCount = UInt32(profile.resolvers)
        let s = profile.normalizedShares
        t0 = s[0]; t1 = t0 + s[1]; t2 = t1 + s[2]; t3 = t2 + s[3]
        t4 = t3 + s[4]; t5 = t4 + s[5]; t6 = t5 + s[6]
        bytesRNG = TrafficRandom(seed: SplitMix64.mix(seed, 3))
        services = s[5] + s[6] + s[7] > 0
            ? ServiceTraffic(profile: profile, clients: cs, resolvers: Array(up.prefix(profile.resolvers)), seed: seed)
            : nil
        outboundShare = profile.outboundTCP
        outboundHosts = profile.services
        outboundRNG = TrafficRandom(seed: SplitMix64.mix(seed, 5))
        rng = r
        flows = Array(repeating: Flow(), count: profile.concurrentFlows)
        // Start every connection somewhere along its life, so traffic is steady from the first
        // packet rather than opening with a burst of SYNs.
        for i in flows.indices {
            startFlow(i)
            flows[i].step = UInt16(rng.below(UInt32(flows[i].length)))
        }
    }

    @inline(__always) func host(_ n: UInt32) -> UInt32 { net.ipv4Address(at: n) }

    @inline(__always)
    mutating func pickClient() -> Client {
        // Skewed: a few clients are busy, most are occasional.
        let u = rng.unit()
        return clients[Int(u * u * Double(clients.count))]
    }

    mutating func startFlow(_ i: Int) {
        let c = rng.below(UInt32(clients.count))
        let os = clients[Int(c)].os
        flows[i] = Flow(client: c, server: host(10 + rng.below(20)), clientPort: ClientOS.ephemeralPort(os, &rng),
                        serverPort: rng.chance(0.8) ? (webPort ?? 443) : (webPort ?? 80), step: 0,
                        length: UInt16(rng.between(6, 30)), ipID: rng.word16(),
                        window: ClientOS.flowWindow(os, &rng))
    }

    @inline(__always)
    mutating func packet(at t: UInt64) -> PacketFeatures {
        if outboundShare > 0 && outboundRNG.unit() < outboundShare { return outboundAnswer(t) }
        let u = rng.unit()
        if u < t0 { return web(t) }
        if u < t1 { return dnsQuery(t) }
        if u < t2 { return dnsResponse(t) }
        if u < t3 { return ntp(t) }
        if u < t4 || services == nil { return icmp(t) }
        let c = pickClient()
        if u < t5 { return services!.quic(t, c) }
        if u < t6 { return services!.rtp(t, c) }
        return services!.dns(t, c)
    }

    @inline(__always)
    mutating func web(_ t: UInt64) -> PacketFeatures {
        let i = Int(rng.below(UInt32(flows.count)))
        if flows[i].step >= flows[i].length { startFlow(i) }
        let f = flows[i]
        let c = clients[Int(f.client)]
        let s = f.step, n = f.length
        var flags: UInt8 = 0x10  // ACK
        var payload = 0
        var window = f.window
        if s == 0 {
            flags = 0x02
            window = ClientOS.synWindow(c.os)
        } else if s == 2 {
            flags = 0x18
            payload = Int(rng.between(150, 900))
        } else if s == n - 2 {
            flags = 0x11
        } else if s == n - 1 {
            if rng.chance(0.05) { flags = 0x14 }
        } else if s > 2 && rng.chance(0.15) {
            flags = 0x18
            payload = Int(rng.between(40, 1400))
        }
        flows[i].step = s &+ 1
        flows[i].ipID = f.ipID &+ 1
        var p = tcpPacket(t, src: c.ip, dst: f.server, sport: f.clientPort, dport: f.serverPort, flags: flags,
                          window: window, ttl: c.ttl, df: true, id: f.ipID, payload: payload)
        if payload > 0 {
            let tls = f.serverPort != 80
            let head = s == 2 ? ProtocolHeads.webRequest(tls: tls, payload: payload, &bytesRNG)
                              : ProtocolHeads.webData(tls: tls, payload: payload, &bytesRNG)
            p.payload = head.head(payload: payload)
        }
        return p
    }

    @inline(__always)
    mutating func dnsQuery(_ t: UInt64) -> PacketFeatures {
        let c = pickClient()
        let name = Int(bytesRNG.below(UInt32(ProtocolHeads.dnsNames.count)))
        let sport = UInt16(rng.between(1024, 65535))
        let id = rng.word16()
        // The drawn size, or the message's when that is longer (the rest reads as zeros).
        let size = max(Int(rng.between(28, 70)), ProtocolHeads.dnsQueryLength(name: name))
        var f = udpPacket(t, src: c.ip, dst: host(53), sport: sport, dport: 53,
                          ttl: c.ttl, df: ClientOS.udpDF(c.os), id: id, payload: size)
        f.payload = ProtocolHeads.dnsQuery(name: name, type: ProtocolHeads.dnsType(&bytesRNG), &bytesRNG)
            .head(payload: size)
        return f
    }

    @inline(__always)
    mutating func dnsResponse(_ t: UInt64) -> PacketFeatures {
        let r = upstream[Int(rng.below(resolverCount))]
        let v = rng.unit()
        let ipLen = 60 + Int(v * v * 240)
        var f = udpPacket(t, src: r.ip, dst: host(2 + rng.below(2)), sport: 53,
                          dport: UInt16(rng.between(32768, 60999)), ttl: r.ttl, df: false, id: rng.word16(),
                          payload: ipLen - 28)
        f.payload = dnsAnswer(size: ipLen - 28).head(payload: ipLen - 28)
        return f
    }

    /// A response of about `size` bytes: as many answers as the size holds after the question.
    @inline(__always)
    mutating func dnsAnswer(size: Int) -> HeadBytes {
        let name = Int(bytesRNG.below(UInt32(ProtocolHeads.dnsNames.count)))
        let type = ProtocolHeads.dnsType(&bytesRNG)
        let room = size - ProtocolHeads.dnsQueryLength(name: name)
        let answers = max(1, min(8, room / ProtocolHeads.dnsAnswerLength(type: type)))
        return ProtocolHeads.dnsResponse(name: name, type: type, answers: answers, &bytesRNG)
    }

    @inline(__always)
    mutating func ntp(_ t: UInt64) -> PacketFeatures {
        if rng.chance(0.5) {
            let c = pickClient()
            let sport: UInt16 = rng.chance(0.4) ? 123 : ClientOS.ephemeralPort(c.os, &rng)
            var f = udpPacket(t, src: c.ip, dst: host(123), sport: sport, dport: 123, ttl: c.ttl,
                              df: ClientOS.udpDF(c.os), id: rng.word16(), payload: 48)
            f.payload = ProtocolHeads.ntp(server: false, &bytesRNG).head(payload: 48)
            return f
        }
        let s = upstream[Int(resolverCount + rng.below(UInt32(upstream.count) - resolverCount))]
        var f = udpPacket(t, src: s.ip, dst: host(2 + rng.below(2)), sport: 123, dport: 123, ttl: s.ttl,
                          df: true, id: rng.word16(), payload: 48)
        f.payload = ProtocolHeads.ntp(server: true, &bytesRNG).head(payload: 48)
        return f
    }

    @inline(__always)
    mutating func icmp(_ t: UInt64) -> PacketFeatures {
        let c = pickClient()
        let target = rng.chance(0.5) ? host(53) : host(10 + rng.below(20))
        let size = ClientOS.pingPayload(c.os)
        var f = icmpPacket(t, src: c.ip, dst: target, type: 8, code: 0, ttl: c.ttl, df: c.os == 0,
                           id: rng.word16(), payload: size)
        f.payload = ProtocolHeads.ping(os: c.os, &bytesRNG).head(payload: size)
        return f
    }

    /// An answer to an outbound HTTPS call of a ``services`` host: from one of many web servers
    /// (a public address drawn per connection), a SYN-ACK one time in five, else ACK or data.
    @inline(__always)
    mutating func outboundAnswer(_ t: UInt64) -> PacketFeatures {
        var server: UInt32
        repeat { server = outboundRNG.word32() } while !isPublicUnicast(server) || net.contains(ipv4: server)
        let synAck = outboundRNG.chance(0.2)
        let payload = synAck ? 0 : (outboundRNG.chance(0.5) ? Int(outboundRNG.between(100, 1400)) : 0)
        let window = AttackTraffic.serverWindows[Int(outboundRNG.below(UInt32(AttackTraffic.serverWindows.count)))]
        return tcpPacket(t, src: server, dst: outboundHosts.length == 32 ? outboundHosts.ipv4Network : outboundHosts.ipv4Address(at: outboundRNG.word32()),
                         sport: 443, dport: UInt16(outboundRNG.between(32768, 60999)),
                         flags: synAck ? 0x12 : (payload > 0 ? 0x18 : 0x10), window: window,
                         ttl: UInt8(outboundRNG.between(40, 60)), df: true, id: outboundRNG.word16(), payload: payload)
    }
}
