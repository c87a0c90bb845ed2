import Packets

/// The default fingerprint of each attack kind's tool: TTL as it arrives, DF, IP-ID scheme,
/// TCP window, payload bytes. Reflection kinds take TTL and DF from each reflector instead.
public struct AttackFingerprint: Hashable, Sendable {
    public enum IPIDScheme: Hashable, Sendable {
        case random
        case incrementing
        case fixed(UInt16)
    }

    public var ttl: UInt8
    public var df: Bool
    public var ipID: IPIDScheme
    public var window: UInt16
    public var payload: Int

    public static func `default`(for kind: AttackKind) -> AttackFingerprint {
        switch kind {
        case .synFlood: return AttackFingerprint(ttl: 243, df: false, ipID: .random, window: 1024, payload: 0)
        case .ackFlood: return AttackFingerprint(ttl: 239, df: false, ipID: .fixed(54321), window: 8192, payload: 0)
        case .udpFlood: return AttackFingerprint(ttl: 52, df: false, ipID: .incrementing, window: 0, payload: 512)
        case .dnsReflection: return AttackFingerprint(ttl: 0, df: false, ipID: .random, window: 0, payload: 0)
        case .ntpAmplification: return AttackFingerprint(ttl: 0, df: false, ipID: .random, window: 0, payload: 440)
        case .icmpFlood: return AttackFingerprint(ttl: 57, df: false, ipID: .incrementing, window: 0, payload: 512)
        case .fragmentFlood: return AttackFingerprint(ttl: 250, df: false, ipID: .random, window: 0, payload: 1480)
        // TTL 0: a random TTL per packet; payload -1: a random size per packet.
        case .payloadMarker: return AttackFingerprint(ttl: 0, df: false, ipID: .random, window: 0, payload: -1)
        // Reflectors: TTL, DF and (SYN-ACK) window from each server; DNS answers of random size.
        case .synAckReflection: return AttackFingerprint(ttl: 0, df: false, ipID: .random, window: 0, payload: 0)
        case .dnsCarpet: return AttackFingerprint(ttl: 0, df: false, ipID: .random, window: 0, payload: -1)
        // Every forgeable field random per packet (TTL 0 and window 0 stand for that).
        case .synRandom, .ackRandom: return AttackFingerprint(ttl: 0, df: false, ipID: .random, window: 0, payload: 0)
        case .chargenReflection: return AttackFingerprint(ttl: 0, df: false, ipID: .random, window: 0, payload: -1)
        }
    }
}

/// Makes the packets of one attack during one phase.
struct AttackTraffic {
    var rng: TrafficRandom
    let kind: AttackKind
    let victim: IPPrefix
    let sources: IPPrefix
    /// Fixed source set; empty means a fresh random address per packet.
    let pool: [UInt32]
    let ttl: UInt8
    /// TTL override for reflectors (nil: each reflector's own).
    let fixedTTL: UInt8?
    let df: Bool
    let idScheme: AttackFingerprint.IPIDScheme
    let window: UInt16
    /// Fixed payload, or -1 for the kind's own distribution (DNS responses 1200–4000, marked
    /// payloads 40–1200).
    let payload: Int
    /// The bytes every payload of a payload-marker attack starts with.
    let marker: [UInt8]
    let protected: IPPrefix
    var nextID: UInt16
    // A DNS response being sent as fragments.
    var fragLeft = 0
    var fragOffset: UInt16 = 0
    var fragSrc: UInt32 = 0
    var fragDst: UInt32 = 0
    var fragID: UInt16 = 0
    var fragTTL: UInt8 = 0

    init(spec: AttackSpec, seed: UInt64, phase: Int, protected: IPPrefix) {
        var r = TrafficRandom(seed: SplitMix64.mix(seed, 1000 + UInt64(phase)))
        kind = spec.kind
        victim = spec.victim
        sources = spec.sources.prefix
        self.protected = protected
        let fp = AttackFingerprint.default(for: spec.kind)
        ttl = spec.ttl.map { UInt8($0) } ?? fp.ttl
        fixedTTL = spec.ttl.map { UInt8($0) }
        df = fp.df
        idScheme = fp.ipID
        window = fp.window
        payload = spec.payload ?? (spec.kind == .dnsReflection ? -1 : fp.payload)
        marker = spec.kind == .payloadMarker ? spec.marker ?? AttackSpec.defaultMarker : []
        var p: [UInt32] = []
        if let n = spec.sources.count {
            // Distinct addresses; public unicast ones when the block allows it.
            let block = spec.sources.prefix
            var seen = Set<UInt32>()
            p.reserveCapacity(n)
            var tries = 0
            while p.count < n {
                let a = block.ipv4Address(at: r.word32())
                tries += 1
                let ok = tries > 64 * n || (isPublicUnicast(a) && !protected.contains(ipv4: a)) || block.length >= 24
                if ok && seen.insert(a).inserted { p.append(a) }
                if tries > 1000 * n + 100_000 { break }
            }
        }
        pool = p
        nextID = r.word16()
        rng = r
    }

    @inline(__always)
    mutating func source() -> UInt32 {
        if !pool.isEmpty { return pool[Int(rng.below(UInt32(pool.count)))] }
        var a = sources.ipv4Address(at: rng.word32())
        if protected.contains(ipv4: a) && sources.length < protected.length { a ^= 0x8000_0000 }
        return a
    }

    @inline(__always)
    mutating func target() -> UInt32 {
        victim.length == 32 ? victim.ipv4Network : victim.ipv4Address(at: rng.word32())
    }

    @inline(__always)
    mutating func ipID() -> UInt16 {
        switch idScheme {
        case .random: return rng.word16()
        case .incrementing: nextID &+= 1; return nextID
        case .fixed(let v): return v
        }
    }

    /// A reflector's TTL and DF, fixed per address (its OS and distance).
    @inline(__always)
    func reflector(_ a: UInt32) -> (ttl: UInt8, df: Bool) {
        let h = SplitMix64.mix(UInt64(a), 77)
        let base: UInt8 = h & 3 == 0 ? 128 : (h & 15 == 1 ? 255 : 64)
        return (fixedTTL ?? base - UInt8(3 + (h >> 8) % 18), (h >> 16) & 1 == 0)
    }

    @inline(__always)
    mutating func packet(at t: UInt64) -> PacketFeatures {
        switch kind {
        case .synFlood, .ackFlood:
            let flags: UInt8 = kind == .synFlood ? 0x02 : 0x10
            return tcpPacket(t, src: source(), dst: target(), sport: UInt16(rng.between(1024, 65535)),
                             dport: rng.chance(0.5) ? 80 : 443, flags: flags, window: window, ttl: ttl,
                             df: df, id: ipID(), payload: payload)
        case .udpFlood:
            return udpPacket(t, src: source(), dst: target(), sport: UInt16(rng.between(1024, 65535)),
                             dport: UInt16(rng.between(1, 65535)), ttl: ttl, df: df, id: ipID(), payload: payload)
        case .ntpAmplification:
            let s = source()
            let r = reflector(s)
            var f = udpPacket(t, src: s, dst: target(), sport: 123, dport: UInt16(rng.between(1024, 65535)),
                              ttl: r.ttl, df: r.df, id: rng.word16(), payload: payload)
            f.payload = ProtocolHeads.ntpMonlist(sequence: UInt8(truncatingIfNeeded: f.ipID)).head(payload: payload)
            return f
        case .icmpFlood:
            return icmpPacket(t, src: source(), dst: target(), type: 8, code: 0, ttl: ttl, df: df, id: ipID(),
                              payload: payload)
        case .fragmentFlood:
            let mf = rng.chance(0.75)
            let data = mf ? payload & ~7 : Int(rng.between(1, UInt32(max(1, payload / 8)))) * 8
            return fragmentPacket(t, proto: IPProtocol.udp, src: source(), dst: target(), ttl: ttl, id: ipID(),
                                  offset: UInt16(rng.between(1, 8000)), mf: mf, data: max(8, data))
        case .dnsReflection:
            return dnsResponse(t)
        case .payloadMarker:
            return marked(t)
        case .synAckReflection:
            return synAck(t)
        case .synRandom, .ackRandom:
            return randomizedTCP(t)
        case .dnsCarpet:
            return carpetAnswer(t)
        case .chargenReflection:
            // A reply is some 74-byte lines of the rotating character pattern, at most one datagram.
            let s = source()
            let r = reflector(s)
            let size = payload >= 0 ? payload : 74 * Int(rng.between(1, 19))
            return udpPacket(t, src: s, dst: target(), sport: 19, dport: UInt16(rng.between(1024, 65535)),
                             ttl: r.ttl, df: r.df, id: rng.word16(), payload: size)
        }
    }

    /// A datagram whose headers are all random and whose payload starts with the marker, random
    /// bytes after it.
    @inline(__always)
    mutating func marked(_ t: UInt64) -> PacketFeatures {
        let size = payload >= 0 ? payload : Int(rng.between(40, 1200))
        let ttl = fixedTTL ?? UInt8(rng.between(30, 255))
        var f = udpPacket(t, src: source(), dst: target(), sport: UInt16(rng.between(1024, 65535)),
                          dport: UInt16(rng.between(1, 65535)), ttl: ttl, df: rng.chance(0.5), id: ipID(),
                          payload: size)
        var h = HeadBytes()
        marker.withUnsafeBytes { h.append($0) }
        h.randomRest(&rng)
        f.payload = h.head(payload: size)
        return f
    }

    /// DNS responses of 1200–4000 bytes: one datagram, fragmented at a 1500-byte MTU.
    @inline(__always)
    mutating func dnsResponse(_ t: UInt64) -> PacketFeatures {
        if fragLeft > 0 {
            let data = min(fragLeft, 1480)
            fragLeft -= data
            let f = fragmentPacket(t, proto: IPProtocol.udp, src: fragSrc, dst: fragDst, ttl: fragTTL, id: fragID,
                                   offset: fragOffset, mf: fragLeft > 0, data: data)
            fragOffset &+= 185
            return f
        }
        let s = source()
        let r = reflector(s)
        let size = payload >= 0 ? payload : Int(rng.between(1200, 4000))
        let dst = target()
        let dport = UInt16(rng.between(1024, 65535))
        let id = rng.word16()
        // The DNS ID follows from the IP ID rather than a draw of its own (same headers as before).
        let head = ProtocolHeads.dnsAnyResponse(id: id ^ 0x5A5A, size: size)
        if size + 8 <= 1480 {
            var f = udpPacket(t, src: s, dst: dst, sport: 53, dport: dport, ttl: r.ttl, df: r.df, id: id, payload: size)
            f.payload = head.head(payload: size)
            return f
        }
        // First fragment: UDP header + 1472 bytes; the rest follows in 1480-byte pieces.
        fragLeft = size + 8 - 1480
        fragOffset = 185
        fragSrc = s; fragDst = dst; fragID = id; fragTTL = r.ttl
        var f = udpPacket(t, src: s, dst: dst, sport: 53, dport: dport, ttl: r.ttl, df: false, id: id,
                          payload: 1472, mf: true)
        f.payload = head.head(payload: 1472)
        return f
    }
}

extension AttackTraffic {
    /// A SYN or ACK flood packet with every field a tool can forge drawn per packet, to port 443
    /// of the victim: what a rate limit cannot tell from real clients (``AttackKind/synRandom``).
    mutating func randomizedTCP(_ t: UInt64) -> PacketFeatures {
        let flags: UInt8 = kind == .synRandom ? 0x02 : 0x10
        let ttl = UInt8(rng.between(30, 255))
        let window = UInt16(rng.between(512, 65535))
        let df = rng.chance(0.5)
        return tcpPacket(t, src: source(), dst: target(), sport: UInt16(rng.between(1024, 65535)), dport: 443,
                         flags: flags, window: window, ttl: ttl, df: df, id: rng.word16(), payload: 0)
    }
}
