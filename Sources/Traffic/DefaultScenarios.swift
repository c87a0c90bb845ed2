import Packets

/// Built-in scenarios. Attacks run at 10–500× the 5,000 pps baseline and last a few seconds, so
/// each scenario is at most a few million packets.
extension Scenario {
    static let victim = IPPrefix("198.51.100.10")!
    static let baseRate = 5_000.0

    static func calm(_ name: String, _ seconds: Double) -> ScenarioPhase {
        ScenarioPhase(name: name, duration: seconds, normalRate: baseRate)
    }

    static func attack(_ name: String, _ seconds: Double, _ kind: AttackKind, rate: Double,
                       sources: AttackSources? = nil, victim: IPPrefix = victim) -> ScenarioPhase {
        ScenarioPhase(name: name, duration: seconds, normalRate: baseRate,
                      attack: AttackSpec(kind: kind, rate: rate, sources: sources, victim: victim))
    }

    /// 30 s of baseline, then DNS reflection (100×), a SYN flood (500×) and an ICMP flood (50×),
    /// each followed by 5 s of recovery (≈ 7.3 M packets over 53 s).
    public static let `default` = Scenario(name: "default", seed: 1, phases: [
        calm("baseline", 30),
        attack("dns-reflection", 3, .dnsReflection, rate: 500_000, sources: .reflectors(2000)),
        calm("recovery-1", 5),
        attack("syn-flood", 2, .synFlood, rate: 2_500_000, sources: .spoofed),
        calm("recovery-2", 5),
        attack("icmp-flood", 3, .icmpFlood, rate: 250_000, sources: .block("45.83.0.0/16")),
        calm("recovery-3", 5),
    ])

    /// NTP monlist amplification from 1,500 servers at 60× the baseline.
    public static let ntpAmplification = Scenario(name: "ntp-amplification", seed: 2, phases: [
        calm("baseline", 20),
        attack("ntp-amplification", 4, .ntpAmplification, rate: 300_000, sources: .reflectors(1500)),
        calm("recovery", 5),
    ])

    /// A UDP flood to random ports from a 5,000-host botnet in one /16.
    public static let udpFlood = Scenario(name: "udp-flood", seed: 3, phases: [
        calm("baseline", 20),
        attack("udp-flood", 4, .udpFlood, rate: 250_000, sources: .block("45.83.0.0/16", count: 5000)),
        calm("recovery", 5),
    ])

    /// Non-first fragments with random offsets from spoofed sources, against the whole network.
    public static let fragmentFlood = Scenario(name: "fragment-flood", seed: 4, phases: [
        calm("baseline", 20),
        attack("fragment-flood", 3, .fragmentFlood, rate: 250_000, sources: .spoofed,
               victim: IPPrefix("198.51.100.0/24")!),
        calm("recovery", 5),
    ])

    /// One vector after another with short gaps, Poisson arrivals: ACK flood, UDP flood, NTP
    /// amplification, fragment flood.
    public static let mixed = Scenario(name: "mixed", seed: 5, arrivals: .poisson, phases: [
        calm("baseline", 20),
        attack("ack-flood", 3, .ackFlood, rate: 250_000, sources: .spoofed),
        calm("gap-1", 3),
        attack("udp-flood", 3, .udpFlood, rate: 250_000, sources: .block("45.83.0.0/16", count: 5000)),
        calm("gap-2", 3),
        attack("ntp-amplification", 3, .ntpAmplification, rate: 250_000, sources: .reflectors(1500)),
        calm("gap-3", 3),
        attack("fragment-flood", 3, .fragmentFlood, rate: 250_000, sources: .spoofed),
        calm("recovery", 5),
    ])

    /// The normal mix plus legitimate UDP to the victim: QUIC, RTP media and DNS both ways (about
    /// 30 % of all normal packets, 1,500 pps).
    static var withServices: NormalProfile {
        var p = NormalProfile()
        p.services = victim
        p.quic = 0.25
        p.rtp = 0.15
        p.serviceDNS = 0.05
        return p
    }

    /// A flood whose headers are all random and whose payloads all start with the same 12 bytes,
    /// at 10× the normal rate, against a host that also serves QUIC, RTP and DNS: only the
    /// payload tells attack from service.
    public static let payloadMarker = Scenario(name: "payload-marker", seed: 6, normal: withServices, phases: [
        calm("baseline", 25),
        attack("payload-marker", 10, .payloadMarker, rate: 10 * baseRate, sources: .spoofed),
        calm("recovery", 10),
    ])

    /// Every built-in scenario.
    public static let builtIn: [Scenario] = [.default, .ntpAmplification, .udpFlood, .fragmentFlood, .mixed, .payloadMarker,
                                             .synAckReflection, .dnsCarpet, .pulse, .synRandom, .ackRandom]
        + change

    /// A built-in scenario by name (`default`, `ntp-amplification`, `udp-flood`,
    /// `fragment-flood`, `mixed`, `payload-marker`, `synack-reflection`, `dns-carpet`, `pulse`,
    /// `syn-random`, `ack-random`, and ``change``'s).
    public static func named(_ name: String) -> Scenario? {
        builtIn.first { $0.name == name }
    }
}
