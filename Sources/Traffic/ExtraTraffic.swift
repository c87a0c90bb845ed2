import Packets

/// Legitimate traffic a phase adds on top of its normal mix: what real networks see when they
/// change, not when they are attacked (issue 14 §3). Labelled normal; the detector must not
/// take it for an attack.
///
/// JSON: `{"kind": "mix", "rate": 2500, "profile": {"web": 1, "dnsQueries": 0, …, "webPort": 8443}}`
/// or `{"kind": "upload", "rate": 20000}`.
public struct ExtraTraffic: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Hashable, Sendable {
        /// Traffic drawn from ``ExtraTraffic/profile`` by a client population of its own (new
        /// users, new flows): a new service on its own port, or a shift of the protocol mix.
        case mix
        /// One bulk TCP upload from a client the normal traffic already has: full-size ACK
        /// segments of one connection to a web server's port 443, as fast as the client sends.
        case upload
    }

    public var kind: Kind
    /// Packets per second.
    public var rate: Double
    /// For ``Kind/mix``: the classes and shares the added traffic follows.
    public var profile: NormalProfile?

    public init(kind: Kind, rate: Double, profile: NormalProfile? = nil) {
        self.kind = kind
        self.rate = rate
        self.profile = profile
    }

    /// Web flows only, every one to `port`: a service the baseline never saw.
    public static func service(port: Int, rate: Double) -> ExtraTraffic {
        var p = NormalProfile()
        p.web = 1
        p.dnsQueries = 0
        p.dnsResponses = 0
        p.ntp = 0
        p.icmp = 0
        p.webPort = port
        return ExtraTraffic(kind: .mix, rate: rate, profile: p)
    }
}

/// Makes the packets of ``ExtraTraffic`` across consecutive phases: a mix keeps its flows (and
/// users) from one phase to the next while its profile stays the same, so a ramp of short
/// phases is one growing population, not a new one every step.
struct ExtraGenerator {
    let spec: ExtraTraffic
    var mix: NormalTraffic?
    var upload: UploadFlow?

    init(spec: ExtraTraffic, seed: UInt64, normalClients: [Client], network: IPPrefix) {
        self.spec = spec
        switch spec.kind {
        case .mix:
            // A seed of its own: other users, other flows than the normal traffic's.
            mix = NormalTraffic(profile: spec.profile ?? NormalProfile(), seed: SplitMix64.mix(seed, 0x6578_7472))
        case .upload:
            upload = UploadFlow(seed: seed, clients: normalClients, network: network)
        }
    }

    /// Whether a phase's extra continues this one's traffic.
    func continues(_ other: ExtraTraffic) -> Bool {
        other.kind == spec.kind && other.profile == spec.profile
    }

    mutating func packet(at t: UInt64) -> PacketFeatures {
        mix != nil ? mix!.packet(at: t) : upload!.packet(at: t)
    }
}

/// One TCP upload: the busiest client of the normal population (so a source the baseline knows)
/// sends full-size data segments, ACK set and PSH on some, on one connection to port 443.
struct UploadFlow {
    var rng: TrafficRandom
    let client: Client
    let server: UInt32
    let clientPort: UInt16
    let window: UInt16
    var ipID: UInt16

    init(seed: UInt64, clients: [Client], network: IPPrefix) {
        var r = TrafficRandom(seed: SplitMix64.mix(seed, 0x7570_6C64))
        // Index 0 is the most likely pick of the normal traffic's skewed client choice.
        client = clients[0]
        server = network.ipv4Address(at: 10 + r.below(20))
        clientPort = ClientOS.ephemeralPort(client.os, &r)
        window = ClientOS.flowWindow(client.os, &r)
        ipID = r.word16()
        rng = r
    }

    mutating func packet(at t: UInt64) -> PacketFeatures {
        ipID &+= 1
        let flags: UInt8 = rng.chance(0.1) ? 0x18 : 0x10
        return tcpPacket(t, src: client.ip, dst: server, sport: clientPort, dport: 443, flags: flags,
                         window: window, ttl: client.ttl, df: true, id: ipID, payload: 1460)
    }
}
