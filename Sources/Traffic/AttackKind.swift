/// The attacks a scenario can stage. Raw values are the JSON names.
public enum AttackKind: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// TCP SYN to 80/443 from spoofed sources, fixed window, no options.
    case synFlood = "syn-flood"
    /// TCP ACK to 80/443 from spoofed sources.
    case ackFlood = "ack-flood"
    /// UDP to random destination ports, fixed payload size.
    case udpFlood = "udp-flood"
    /// DNS responses (UDP source port 53) of 1200–4000 bytes from open resolvers, fragmented.
    case dnsReflection = "dns-reflection"
    /// NTP monlist responses (UDP source port 123, 468-byte IP packets) from NTP servers.
    case ntpAmplification = "ntp-amplification"
    /// ICMP echo requests.
    case icmpFlood = "icmp-flood"
    /// Non-first IP fragments with random offsets and identifications.
    case fragmentFlood = "fragment-flood"
    /// UDP with every header field random (spoofed sources, ports, sizes of 40–1200 payload
    /// bytes, TTL, IP ID) but a fixed marker at the start of every payload: a botnet tool's
    /// magic bytes (``AttackSpec/marker``). Only the payload tells it apart.
    case payloadMarker = "payload-marker"
    /// TCP SYN-ACKs from web servers (source port 80 or 443) that answer SYNs spoofed with the
    /// victim's address: each server with its own OS's window and TTL, so no one fingerprint;
    /// servers where the port is closed answer RST-ACK instead.
    case synAckReflection = "synack-reflection"
    /// DNS answers (UDP source port 53) of ordinary sizes from open resolvers, spread over every
    /// host of the victim block (a carpet bombing): sizes and bytes like real answers.
    case dnsCarpet = "dns-carpet"
    /// TCP SYN to one port of the victim with every header a tool can forge random per packet:
    /// source address and port, TTL, window, IP ID, DF. No field separates it from real clients'
    /// connection requests; only a handshake does (issue 14 §1).
    case synRandom = "syn-random"
    /// TCP ACK to one port of the victim, every header random as ``synRandom``: no field
    /// separates it from real clients' mid-connection packets; only the host's connections do.
    case ackRandom = "ack-random"
    /// Chargen replies (UDP source port 19, random lines of 74-byte text up to a full datagram)
    /// from open chargen servers.
    case chargenReflection = "chargen-reflection"

    public var description: String { rawValue }

    /// Reflection attacks come from a fixed set of real servers, not from spoofed addresses.
    public var isReflection: Bool {
        self == .dnsReflection || self == .ntpAmplification || self == .synAckReflection || self == .dnsCarpet
            || self == .chargenReflection
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let kind = AttackKind(rawValue: text) else {
            let names = AttackKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown attack kind '\(text)' (one of: \(names))")
        }
        self = kind
    }
}
