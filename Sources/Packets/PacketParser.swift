/// Where each layer sits in a parsed frame (offsets from the frame start; -1 when absent).
public struct PacketLayers: Hashable, Sendable {
    public var l3Offset = 0
    /// Number of 802.1Q/802.1ad tags.
    public var vlanCount = 0
    /// VLAN ids of the first two tags (outer, inner); 0 when absent.
    public var outerVLAN: UInt16 = 0
    public var innerVLAN: UInt16 = 0
    public var l4Offset = -1
    public var payloadOffset = -1
    /// End of the IP packet inside the captured bytes (Ethernet padding and capture truncation
    /// excluded).
    public var end = 0

    @inlinable public init() {}
}

/// Parses frames into ``PacketFeatures`` in one pass over the bytes, without copying them.
public enum PacketParser {
    /// Parses one frame. `wireLength` is the length on the wire when the capture cut the frame
    /// short (snaplen); IP lengths may then run past the buffer, but every header that is
    /// parsed must be captured whole.
    @inlinable
    public static func parse(
        _ bytes: UnsafeRawBufferPointer,
        linkType: LinkType = .ethernet,
        timestamp: UInt64 = 0,
        wireLength: Int? = nil,
        into f: inout PacketFeatures
    ) throws(PacketParseError) -> PacketLayers {
        f = PacketFeatures()
        f.timestamp = timestamp
        let wire = wireLength ?? bytes.count
        f.wireLength = UInt32(truncatingIfNeeded: wire)
        let truncated = wire > bytes.count
        var layers = PacketLayers()
        var off = 0
        var etherType: UInt16
        switch linkType {
        case .ethernet:
            let eth = try EthernetHeader(bytes)
            etherType = eth.etherType
            off = EthernetHeader.length
            while VLANTag.isTag(etherType) {
                let tag = try VLANTag(bytes, at: off)
                if layers.vlanCount == 0 { layers.outerVLAN = tag.id } else if layers.vlanCount == 1 { layers.innerVLAN = tag.id }
                layers.vlanCount &+= 1
                etherType = tag.etherType
                off &+= VLANTag.length
            }
        case .raw:
            guard bytes.count >= 1 else { throw PacketParseError(.truncatedIPv4, at: 0) }
            switch bytes.u8(0) >> 4 {
            case 4: etherType = EtherType.ipv4
            case 6: etherType = EtherType.ipv6
            default: throw PacketParseError(.badIPv4Version, at: 0)
            }
        case .ipv4:
            etherType = EtherType.ipv4
        case .ipv6:
            etherType = EtherType.ipv6
        case .linuxSLL:
            guard bytes.count >= 16 else { throw PacketParseError(.truncatedLinuxSLL, at: 0) }
            etherType = bytes.be16(14)
            off = 16
        case .linuxSLL2:
            guard bytes.count >= 20 else { throw PacketParseError(.truncatedLinuxSLL, at: 0) }
            etherType = bytes.be16(0)
            off = 20
        default:
            throw PacketParseError(.unsupportedLinkType, at: 0)
        }
        layers.l3Offset = off
        if etherType == EtherType.ipv4 {
            try parseIPv4(bytes, at: off, truncated: truncated, into: &f, &layers)
        } else if etherType == EtherType.ipv6 {
            try parseIPv6(bytes, at: off, truncated: truncated, into: &f, &layers)
        } else {
            throw PacketParseError(.notIP, at: max(0, off - 2))
        }
        if layers.payloadOffset >= 0 && layers.payloadOffset < layers.end {
            f.payload.capture(UnsafeRawBufferPointer(rebasing: bytes[layers.payloadOffset..<layers.end]))
        }
        return layers
    }

    /// Parses one frame into fresh features.
    @inlinable
    public static func features(
        _ bytes: UnsafeRawBufferPointer,
        linkType: LinkType = .ethernet,
        timestamp: UInt64 = 0,
        wireLength: Int? = nil
    ) throws(PacketParseError) -> PacketFeatures {
        var f = PacketFeatures()
        _ = try parse(bytes, linkType: linkType, timestamp: timestamp, wireLength: wireLength, into: &f)
        return f
    }

    @inlinable
    static func parseIPv4(_ bytes: UnsafeRawBufferPointer, at off: Int, truncated: Bool,
                          into f: inout PacketFeatures, _ layers: inout PacketLayers) throws(PacketParseError) {
        let ip = try IPv4Header(bytes, at: off, frameTruncated: truncated)
        let tos = bytes.u8(off + 1)
        let flagsFrag = bytes.be16(off + 6)
        let total = ip.totalLength
        let hl = ip.headerLength
        f.ipVersion = 4
        f.dscp = tos >> 2
        f.ecn = tos & 3
        f.ipLen = UInt32(total)
        f.ipID = UInt32(ip.identification)
        f.df = flagsFrag & 0x4000 != 0
        f.mf = flagsFrag & 0x2000 != 0
        f.fragOffset = flagsFrag & 0x1FFF
        f.ttl = ip.ttl
        f.proto = ip.proto
        f.srcIP = .v4(ip.source)
        f.dstIP = .v4(ip.destination)
        let ipEnd = off &+ total
        layers.end = min(ipEnd, bytes.count)
        try transport(bytes, at: off &+ hl, ipEnd: ipEnd, into: &f, &layers)
    }

    @inlinable
    static func parseIPv6(_ bytes: UnsafeRawBufferPointer, at off: Int, truncated: Bool,
                          into f: inout PacketFeatures, _ layers: inout PacketLayers) throws(PacketParseError) {
        let ip = try IPv6Header(bytes, at: off, frameTruncated: truncated)
        let plen = ip.payloadLength
        let ipEnd = plen == 0 ? bytes.count : off &+ IPv6Header.length &+ plen
        let end = min(ipEnd, bytes.count)
        layers.end = end
        f.ipVersion = 6
        let tc = ip.trafficClass
        f.dscp = tc >> 2
        f.ecn = tc & 3
        f.ipLen = UInt32(ipEnd &- off)
        f.ttl = ip.hopLimit
        f.srcIP = ip.source
        f.dstIP = ip.destination
        let chain = try IPv6ExtensionChain.walk(bytes, first: ip.nextHeader, at: off &+ IPv6Header.length, end: end)
        f.proto = chain.proto
        f.mf = chain.moreFragments
        f.fragOffset = chain.fragmentOffset
        f.ipID = chain.fragmentIdentification
        try transport(bytes, at: chain.upperOffset, ipEnd: ipEnd, into: &f, &layers)
    }

    /// The transport header at `l4`. A non-first fragment has none; a first fragment too short
    /// to hold it (the tiny-fragment trick) is kept without one rather than rejected.
    @inlinable
    static func transport(_ bytes: UnsafeRawBufferPointer, at l4: Int, ipEnd: Int,
                          into f: inout PacketFeatures, _ layers: inout PacketLayers) throws(PacketParseError) {
        let end = min(ipEnd, bytes.count)
        layers.l4Offset = l4
        let ipPayload = max(0, ipEnd &- l4)
        if f.fragOffset != 0 || (f.mf && ipEnd &- l4 < minimumTransportLength(f.proto)) {
            f.payloadLen = UInt32(ipPayload)
            layers.l4Offset = -1
            layers.payloadOffset = l4
            return
        }
        let hl: Int
        switch f.proto {
        case IPProtocol.udp:
            // In a first fragment the UDP length covers the whole datagram, not this packet.
            let udp = try UDPHeader(bytes, at: l4, end: end, ipEnd: f.mf ? Int.max : ipEnd)
            f.srcPort = udp.sourcePort
            f.dstPort = udp.destinationPort
            hl = UDPHeader.length
        case IPProtocol.tcp:
            let tcp = try TCPHeader(bytes, at: l4, end: end)
            f.srcPort = tcp.sourcePort
            f.dstPort = tcp.destinationPort
            f.tcpFlags = tcp.flags.rawValue
            f.tcpWindow = tcp.window
            f.tcpUrgentPtr = tcp.urgentPointer
            hl = tcp.headerLength
        case IPProtocol.icmp, IPProtocol.icmpv6:
            let icmp = try ICMPHeader(bytes, at: l4, end: end)
            f.icmpType = icmp.type
            f.icmpCode = icmp.code
            hl = ICMPHeader.length
        default:
            f.payloadLen = UInt32(ipPayload)
            layers.l4Offset = -1
            layers.payloadOffset = l4
            return
        }
        f.hasTransportHeader = true
        f.payloadLen = UInt32(max(0, ipPayload &- hl))
        layers.payloadOffset = l4 &+ hl
    }

    @inlinable
    static func minimumTransportLength(_ proto: UInt8) -> Int {
        switch proto {
        case IPProtocol.tcp: return TCPHeader.minimumLength
        case IPProtocol.udp: return UDPHeader.length
        case IPProtocol.icmp, IPProtocol.icmpv6: return ICMPHeader.length
        default: return 0
        }
    }

    /// The DNS header of a packet to or from port 53, or nil when it is not DNS or (TCP) the
    /// segment carries no message start.
    public static func dns(_ bytes: UnsafeRawBufferPointer, _ layers: PacketLayers, _ f: PacketFeatures) throws(PacketParseError) -> DNSHeader? {
        guard f.hasPorts, f.srcPort == DNSHeader.port || f.dstPort == DNSHeader.port, layers.payloadOffset >= 0 else {
            return nil
        }
        if f.isUDP {
            return try DNSHeader(bytes, at: layers.payloadOffset, end: layers.end)
        }
        // TCP: a 2-byte length prefix, then the message; an empty segment (SYN, ACK) has none.
        guard f.payloadLen > 0 else { return nil }
        guard layers.end - layers.payloadOffset >= 2 else {
            throw PacketParseError(.truncatedDNS, at: layers.payloadOffset)
        }
        return try DNSHeader(bytes, at: layers.payloadOffset + 2, end: layers.end)
    }
}
