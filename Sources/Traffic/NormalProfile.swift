import Packets

/// What normal traffic toward the protected network looks like: who sends it and in what mix.
///
/// Shares are weights over packets (normalized): web (TCP 80/443 flows from clients), DNS
/// queries to the network's server, DNS responses from upstream resolvers to its resolvers, NTP
/// (client requests and server responses, 76 bytes), ICMP echo requests; and UDP services on the
/// ``services`` hosts, none by default: QUIC (UDP 443), RTP media, DNS both ways (queries to the
/// host's port 53, answers to its own lookups from port 53).
public struct NormalProfile: Codable, Hashable, Sendable {
    /// The protected network. Hosts: .2/.3 resolvers, .10–.29 web servers, .53 DNS, .123 NTP.
    public var network: IPPrefix = IPPrefix("198.51.100.0/24")!
    /// Distinct client addresses (spread over public IPv4 space).
    public var clients: Int = 20_000
    /// Upstream DNS resolvers whose responses arrive.
    public var resolvers: Int = 64
    /// TCP connections open at once.
    public var concurrentFlows: Int = 1024
    public var web: Double = 0.75
    public var dnsQueries: Double = 0.06
    public var dnsResponses: Double = 0.12
    public var ntp: Double = 0.04
    public var icmp: Double = 0.03
    /// The hosts the QUIC, RTP and service-DNS classes reach (one address per connection,
    /// stream or lookup).
    public var services: IPPrefix = IPPrefix("198.51.100.10")!
    public var quic: Double = 0
    public var rtp: Double = 0
    public var serviceDNS: Double = 0
    /// Share of packets (outside the weights above, 0 by default) answering the ``services``
    /// hosts' own outbound HTTPS calls: SYN-ACKs and data from many web servers. A web host that
    /// fetches from others sees a trickle of SYN-ACKs: the baseline a SYN-ACK reflection meets.
    public var outboundTCP: Double = 0
    /// The TCP port every web flow goes to; nil: 443 for four flows in five, 80 for the rest.
    /// (A new service on its own port is a profile with only web traffic and this set.)
    public var webPort: Int?

    public init() {}

    /// The shares normalized to sum to 1, in ``NormalClass`` order (web, dnsQueries,
    /// dnsResponses, ntp, icmp, quic, rtp, serviceDNS).
    public var normalizedShares: [Double] {
        let w = [web, dnsQueries, dnsResponses, ntp, icmp, quic, rtp, serviceDNS]
        let s = w.reduce(0, +)
        return w.map { $0 / s }
    }

    enum CodingKeys: String, CodingKey {
        case network, clients, resolvers, concurrentFlows, web, dnsQueries, dnsResponses, ntp, icmp
        case services, quic, rtp, serviceDNS, outboundTCP, webPort
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = NormalProfile()
        network = try c.decodeIPv4BlockIfPresent(forKey: .network) ?? d.network
        func count(_ key: CodingKeys, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            let v = try c.decodeIfPresent(Int.self, forKey: key) ?? fallback
            guard range.contains(v) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c,
                    debugDescription: "\(key.stringValue) must be \(range.lowerBound)…\(range.upperBound), got \(v)")
            }
            return v
        }
        clients = try count(.clients, d.clients, 1...10_000_000)
        resolvers = try count(.resolvers, d.resolvers, 1...1_000_000)
        concurrentFlows = try count(.concurrentFlows, d.concurrentFlows, 1...1_000_000)
        func share(_ key: CodingKeys, _ fallback: Double) throws -> Double {
            let v = try c.decodeIfPresent(Double.self, forKey: key) ?? fallback
            guard v.isFinite, v >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c,
                    debugDescription: "\(key.stringValue) must be a share ≥ 0, got \(v)")
            }
            return v
        }
        web = try share(.web, d.web)
        dnsQueries = try share(.dnsQueries, d.dnsQueries)
        dnsResponses = try share(.dnsResponses, d.dnsResponses)
        ntp = try share(.ntp, d.ntp)
        icmp = try share(.icmp, d.icmp)
        services = try c.decodeIPv4BlockIfPresent(forKey: .services) ?? d.services
        quic = try share(.quic, d.quic)
        rtp = try share(.rtp, d.rtp)
        serviceDNS = try share(.serviceDNS, d.serviceDNS)
        outboundTCP = try share(.outboundTCP, d.outboundTCP)
        guard outboundTCP < 1 else {
            throw DecodingError.dataCorruptedError(forKey: .outboundTCP, in: c, debugDescription: "outboundTCP must be a share below 1, got \(outboundTCP)")
        }
        webPort = try c.decodeIfPresent(Int.self, forKey: .webPort)
        if let p = webPort, !(1...65535).contains(p) {
            throw DecodingError.dataCorruptedError(forKey: .webPort, in: c, debugDescription: "webPort must be 1…65535, got \(p)")
        }
        guard normalizedShares.allSatisfy(\.isFinite) else {
            throw DecodingError.dataCorruptedError(forKey: .web, in: c, debugDescription: "the traffic shares must not all be zero")
        }
    }
}

/// The classes of normal traffic, in the order of ``NormalProfile/normalizedShares``.
public enum NormalClass: Int, Sendable, CaseIterable {
    case web, dnsQuery, dnsResponse, ntp, icmp, quic, rtp, serviceDNS
}
