import Packets

/// Scenarios of the hard cases of issue 14: attacks that no single header value sets apart from
/// the baseline, or that come back.
extension Scenario {
    /// A web host that also calls out to other sites: a trickle of SYN-ACKs (0.2 % of packets,
    /// from many servers) reaches it in normal traffic.
    static var withOutboundCalls: NormalProfile {
        var p = NormalProfile()
        p.outboundTCP = 0.01
        return p
    }

    /// SYN-ACKs from 2,000 web servers (ports 80/443, a dozen windows, their own TTLs) at 50× the
    /// baseline, against a host whose baseline has a few SYN-ACKs of its own (issue 14 §5).
    public static let synAckReflection = Scenario(name: "synack-reflection", seed: 14, normal: withOutboundCalls, phases: [
        calm("baseline", 20),
        attack("synack-reflection", 4, .synAckReflection, rate: 250_000, sources: .reflectors(2000)),
        calm("recovery", 5),
    ])

    /// A site whose four resolvers answer its lookups steadily (600 pps of DNS answers).
    static var withOwnResolvers: NormalProfile {
        var p = NormalProfile()
        p.resolvers = 4
        return p
    }

    /// DNS answers from 2,000 open resolvers to every host of the /24 at 20× the baseline, their
    /// sizes (IP 60–500 bytes) overlapping those of the site's own resolvers' answers (issue 14 §4).
    public static let dnsCarpet = Scenario(name: "dns-carpet", seed: 15, normal: withOwnResolvers, phases: [
        calm("baseline", 20),
        attack("dns-carpet", 4, .dnsCarpet, rate: 100_000, sources: .reflectors(2000),
               victim: IPPrefix("198.51.100.0/24")!),
        calm("recovery", 5),
    ])

    /// NTP amplification in pulses, 2 s on and 3 s off, four times (issue 14 §6).
    public static let pulse: Scenario = {
        var phases = [calm("baseline", 20)]
        for i in 1...4 {
            phases.append(attack("pulse-\(i)", 2, .ntpAmplification, rate: 150_000, sources: .reflectors(1500)))
            phases.append(calm("pause-\(i)", 3))
        }
        phases.append(calm("recovery", 5))
        return Scenario(name: "pulse", seed: 16, phases: phases)
    }()

    /// A SYN flood at 20× the baseline to port 443 of one host, every forgeable header random per
    /// packet (issue 14 §1): only a handshake tells it from real clients.
    public static let synRandom = Scenario(name: "syn-random", seed: 17, phases: [
        calm("baseline", 20),
        attack("syn-random", 5, .synRandom, rate: 20 * baseRate, sources: .spoofed),
        calm("recovery", 5),
    ])

    /// An ACK flood like ``synRandom``'s SYNs: only the host's own connections tell it from real
    /// clients' packets.
    public static let ackRandom = Scenario(name: "ack-random", seed: 18, phases: [
        calm("baseline", 20),
        attack("ack-random", 5, .ackRandom, rate: 20 * baseRate, sources: .spoofed),
        calm("recovery", 5),
    ])
}
