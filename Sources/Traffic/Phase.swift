import Packets

/// Where attack packets come from.
///
/// JSON: `{"prefix": "45.83.0.0/16"}` — a fresh random address inside the block for every
/// packet (spoofing; `0.0.0.0/0` is the whole IPv4 space); add `"count": 2000` for a fixed set of
/// that many addresses drawn once inside the block (a botnet, a set of open resolvers).
public struct AttackSources: Codable, Hashable, Sendable {
    public var prefix: IPPrefix
    /// nil: every packet a new random address; n: a fixed pool of n addresses.
    public var count: Int?

    public init(prefix: IPPrefix = .allIPv4, count: Int? = nil) {
        self.prefix = prefix
        self.count = count
    }

    /// Random spoofed addresses from the whole IPv4 space.
    public static let spoofed = AttackSources()
    /// A fixed set of `n` public servers (resolvers, NTP servers) anywhere.
    public static func reflectors(_ n: Int) -> AttackSources { AttackSources(count: n) }
    /// Random addresses inside one block (a botnet behind a /16, say).
    public static func block(_ text: String, count: Int? = nil) -> AttackSources {
        AttackSources(prefix: IPPrefix(ipv4Block: text)!, count: count)
    }

    enum CodingKeys: String, CodingKey { case prefix, count }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prefix = try c.decodeIPv4BlockIfPresent(forKey: .prefix) ?? .allIPv4
        count = try c.decodeIfPresent(Int.self, forKey: .count)
        if let n = count, n < 1 || UInt64(n) > prefix.ipv4Count {
            throw DecodingError.dataCorruptedError(forKey: .count, in: c,
                debugDescription: "count must be between 1 and the size of the prefix (\(prefix.ipv4Count)), got \(n)")
        }
    }
}

/// One attack during a phase.
public struct AttackSpec: Codable, Hashable, Sendable {
    public var kind: AttackKind
    /// Packets per second (fragments count as packets).
    public var rate: Double
    public var sources: AttackSources
    /// The target: one address (a /32) or a block, one random address per packet.
    public var victim: IPPrefix
    /// Overrides the kind's TTL fingerprint.
    public var ttl: Int?
    /// Overrides the kind's payload size: bytes after the transport header; for DNS reflection
    /// the size of every DNS response (which then fragments above 1472).
    public var payload: Int?
    /// Payload-marker attacks: the bytes every payload starts with (JSON: hex), 1–40 bytes;
    /// nil is ``defaultMarker``.
    public var marker: [UInt8]?

    /// A tool's magic: 12 bytes no legitimate protocol starts with.
    public static let defaultMarker: [UInt8] = [0x13, 0x37, 0xC0, 0xDE, 0x7A, 0x11, 0x0B, 0xAD, 0x5E, 0xED, 0xF0, 0x0D]

    public init(kind: AttackKind, rate: Double, sources: AttackSources? = nil,
                victim: IPPrefix = IPPrefix("198.51.100.10")!, ttl: Int? = nil, payload: Int? = nil,
                marker: [UInt8]? = nil) {
        self.kind = kind
        self.rate = rate
        self.sources = sources ?? Self.defaultSources(for: kind)
        self.victim = victim
        self.ttl = ttl
        self.payload = payload
        self.marker = marker
    }

    /// Reflection comes from 2,000 fixed servers; everything else is spoofed over all of IPv4.
    public static func defaultSources(for kind: AttackKind) -> AttackSources {
        kind.isReflection ? .reflectors(2000) : .spoofed
    }

    enum CodingKeys: String, CodingKey { case kind, rate, sources, victim, ttl, payload, marker }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(rate, forKey: .rate)
        try c.encode(sources, forKey: .sources)
        try c.encode(victim, forKey: .victim)
        try c.encodeIfPresent(ttl, forKey: .ttl)
        try c.encodeIfPresent(payload, forKey: .payload)
        try c.encodeIfPresent(marker.map(Self.hex), forKey: .marker)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    /// Bytes from hex digits (pairs, no separators); nil when the text is not that.
    static func bytes(hex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ d: UInt8) -> UInt8? {
            switch d {
            case 0x30...0x39: return d - 0x30
            case 0x41...0x46: return d - 0x41 + 10
            case 0x61...0x66: return d - 0x61 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < digits.count {
            guard let hi = value(digits[i]), let lo = value(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(AttackKind.self, forKey: .kind)
        rate = try c.decode(Double.self, forKey: .rate)
        guard rate.isFinite, rate > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .rate, in: c, debugDescription: "rate must be a positive number of packets per second, got \(rate)")
        }
        sources = try c.decodeIfPresent(AttackSources.self, forKey: .sources) ?? Self.defaultSources(for: kind)
        victim = try c.decodeIPv4Block(forKey: .victim)
        ttl = try c.decodeIfPresent(Int.self, forKey: .ttl)
        if let t = ttl, !(1...255).contains(t) {
            throw DecodingError.dataCorruptedError(forKey: .ttl, in: c, debugDescription: "ttl must be 1…255, got \(t)")
        }
        payload = try c.decodeIfPresent(Int.self, forKey: .payload)
        if let p = payload {
            let limit = kind == .dnsReflection ? 65_000 : 1472
            guard (0...limit).contains(p) else {
                throw DecodingError.dataCorruptedError(forKey: .payload, in: c, debugDescription: "payload for \(kind) must be 0…\(limit) bytes, got \(p)")
            }
        }
        if let text = try c.decodeIfPresent(String.self, forKey: .marker) {
            guard kind == .payloadMarker else {
                throw DecodingError.dataCorruptedError(forKey: .marker, in: c, debugDescription: "marker is for payload-marker attacks, not \(kind)")
            }
            guard let m = Self.bytes(hex: text), (1...40).contains(m.count) else {
                throw DecodingError.dataCorruptedError(forKey: .marker, in: c, debugDescription: "marker must be 1–40 bytes in hex digits, got '\(text)'")
            }
            marker = m
        }
        if kind == .payloadMarker, let p = payload, p < (marker ?? Self.defaultMarker).count {
            throw DecodingError.dataCorruptedError(forKey: .payload, in: c,
                debugDescription: "payload (\(p) bytes) must hold the \((marker ?? Self.defaultMarker).count)-byte marker")
        }
    }
}

/// A stretch of a scenario: normal traffic at a rate, and perhaps an attack on top.
public struct ScenarioPhase: Codable, Hashable, Sendable {
    public var name: String
    /// Seconds.
    public var duration: Double
    /// Normal packets per second.
    public var normalRate: Double
    public var attack: AttackSpec?
    /// Legitimate traffic on top of the normal mix, unlike it in some way (``ExtraTraffic``).
    public var extra: ExtraTraffic?

    public init(name: String, duration: Double, normalRate: Double, attack: AttackSpec? = nil,
                extra: ExtraTraffic? = nil) {
        self.name = name
        self.duration = duration
        self.normalRate = normalRate
        self.attack = attack
        self.extra = extra
    }

    /// Packets of normal traffic in the phase (rate × duration, rounded).
    public var normalPackets: Int { Int((normalRate * duration).rounded()) }
    /// Attack packets in the phase.
    public var attackPackets: Int { attack.map { Int(($0.rate * duration).rounded()) } ?? 0 }
    /// Extra legitimate packets in the phase.
    public var extraPackets: Int { extra.map { Int(($0.rate * duration).rounded()) } ?? 0 }
    public var totalPackets: Int { normalPackets + attackPackets + extraPackets }

    enum CodingKeys: String, CodingKey { case name, duration, normalRate, attack, extra }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        duration = try c.decode(Double.self, forKey: .duration)
        guard duration.isFinite, duration > 0, duration < 1e6 else {
            throw DecodingError.dataCorruptedError(forKey: .duration, in: c, debugDescription: "duration must be a positive number of seconds, got \(duration)")
        }
        normalRate = try c.decodeIfPresent(Double.self, forKey: .normalRate) ?? 0
        guard normalRate.isFinite, normalRate >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .normalRate, in: c, debugDescription: "normalRate must be ≥ 0 packets per second, got \(normalRate)")
        }
        attack = try c.decodeIfPresent(AttackSpec.self, forKey: .attack)
        extra = try c.decodeIfPresent(ExtraTraffic.self, forKey: .extra)
    }
}
