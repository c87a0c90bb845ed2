import Testing
@testable import Packets

@Suite struct ParserTests {
    @Test func udpFields() throws {
        let s = samplePackets()
        let f = try parse(PacketBuilder.bytes(s[0].spec))
        #expect(f.ipVersion == 4)
        #expect(f.proto == 17)
        #expect(f.srcIP.description == "10.0.0.1")
        #expect(f.dstIP == IPAddress("192.0.2.7"))
        #expect(f.srcPort == 5353 && f.dstPort == 53)
        #expect(f.ttl == 17 && f.df && !f.mf && f.fragOffset == 0)
        #expect(f.ipID == 0x1234 && f.ipLen == 50 && f.payloadLen == 22)
        #expect(f.dscp == 46 && f.ecn == 1)
        #expect(f.wireLength == 64)
        #expect(f.srcPortBand == .registered && f.dstPortBand == .wellKnown)
        #expect(f.sizeClass == .tiny)
    }

    @Test func tcpWithOptionsAndVLAN() throws {
        let bytes = PacketBuilder.bytes(samplePackets()[1].spec)
        let f = try parse(bytes)
        #expect(f.proto == 6 && f.tcpFlags == 0xC2 && f.tcpWindow == 29200)
        #expect(f.srcPort == 44321 && f.dstPort == 443 && f.srcPortBand == .registered)
        #expect(f.ttl == 250 && f.ipLen == 24 + 20 + 11 && f.payloadLen == 11)
        let layers = try bytes.withUnsafeBytes { b throws(PacketParseError) in
            var g = PacketFeatures()
            return try PacketParser.parse(b, into: &g)
        }
        #expect(layers.vlanCount == 1 && layers.outerVLAN == 100 && layers.l3Offset == 18)
        #expect(layers.l4Offset == 18 + 24 && layers.payloadOffset == 18 + 24 + 20)
    }

    @Test func qinqAndICMP() throws {
        let bytes = PacketBuilder.bytes(samplePackets()[2].spec)
        #expect(bytes[12] == 0x88 && bytes[13] == 0xA8)
        let f = try parse(bytes)
        #expect(f.proto == 1 && f.icmpType == 8 && f.icmpCode == 0 && f.payloadLen == 32)
        #expect(!f.hasPorts && f.value(of: "src_port") == nil && f.value(of: "icmp_type") == 8)
        let layers = try bytes.withUnsafeBytes { b throws(PacketParseError) in
            var g = PacketFeatures()
            return try PacketParser.parse(b, into: &g)
        }
        #expect(layers.vlanCount == 2 && layers.outerVLAN == 10 && layers.innerVLAN == 20)
    }

    @Test func ipv6ExtensionHeadersAndDNS() throws {
        let (spec, dns) = samplePackets()[3]
        let bytes = PacketBuilder.bytes(spec, payload: dns)
        var f = PacketFeatures()
        let header = try bytes.withUnsafeBytes { b throws(PacketParseError) -> (UInt16, Bool, UInt8, UInt16)? in
            let layers = try PacketParser.parse(b, into: &f)
            guard let d = try PacketParser.dns(b, layers, f) else { return nil }
            return (d.id, d.isResponse, d.opcode, d.questionCount)
        }
        #expect(f.ipVersion == 6 && f.proto == 17 && f.ttl == 33 && f.dscp == 46)
        #expect(f.srcIP == IPAddress("2001:db8::1") && f.dstIP.description == "2001:db8:0:1::53")
        #expect(f.dstPort == 53 && f.payloadLen == UInt32(dns.count))
        #expect(f.ipLen == 40 + 16 + 8 + UInt32(dns.count))
        #expect(header?.0 == 0xBEEF && header?.1 == false && header?.2 == 0 && header?.3 == 1)
    }

    @Test func ipv6RoutingAHAndFragments() throws {
        var v6 = PacketSpec.IPv6(source: IPAddress("2001:db8::1")!, destination: IPAddress("2001:db8::2")!)
        v6.extensions = [IPProtocol.hopByHop, IPProtocol.routing, IPProtocol.ah, IPProtocol.fragment]
        v6.moreFragments = true
        v6.fragmentIdentification = 0xDEADBEEF
        let first = PacketSpec(network: .v6(v6), transport: .tcp(source: 1, destination: 2, flags: .syn), payloadLength: 0)
        let f = try parse(PacketBuilder.bytes(first))
        #expect(f.proto == 6 && f.hasPorts && f.srcPort == 1 && f.mf && f.fragOffset == 0 && f.ipID == 0xDEADBEEF)

        v6.fragmentOffset = 100
        v6.moreFragments = false
        let later = PacketSpec(network: .v6(v6), transport: .none(proto: IPProtocol.tcp), payloadLength: 64)
        let g = try parse(PacketBuilder.bytes(later))
        #expect(g.proto == 6 && !g.hasPorts && g.srcPort == 0 && g.fragOffset == 100 && !g.mf && g.payloadLen == 64)
        #expect(g.value(of: "src_port") == nil && g.value(of: "tcp_flags") == nil)
    }

    @Test func ipv4Fragments() throws {
        var v4 = PacketSpec.IPv4(source: ip4("1.2.3.4"), destination: ip4("5.6.7.8"))
        v4.moreFragments = true
        v4.identification = 77
        // First fragment of a large UDP datagram: UDP length covers the datagram, not this packet.
        var first = PacketBuilder.bytes(PacketSpec(network: .v4(v4), transport: .udp(source: 53, destination: 9999), payloadLength: 32))
        first[14 + 20 + 4] = 0x05; first[14 + 20 + 5] = 0xDC
        let f = try parse(first)
        #expect(f.mf && f.fragOffset == 0 && f.hasPorts && f.srcPort == 53 && f.payloadLen == 32)

        v4.fragmentOffset = 185
        v4.moreFragments = false
        let later = PacketBuilder.bytes(PacketSpec(network: .v4(v4), transport: .none(proto: 17), payloadLength: 40))
        let g = try parse(later)
        #expect(g.proto == 17 && !g.hasPorts && !g.hasTransportHeader && g.fragOffset == 185 && g.payloadLen == 40)

        // Tiny first fragment that cannot hold the TCP header: kept, without ports.
        v4.fragmentOffset = 0
        v4.moreFragments = true
        let tiny = PacketBuilder.bytes(PacketSpec(network: .v4(v4), transport: .none(proto: 6), payloadLength: 8))
        let t = try parse(tiny)
        #expect(t.proto == 6 && !t.hasPorts && t.mf)
    }

    @Test func ethernetPaddingIsIgnored() throws {
        var spec = PacketSpec.udp4(source: 1, destination: 2, sourcePort: 3, destinationPort: 4, frameLength: 42)
        spec.minimumFrameLength = 60
        let bytes = PacketBuilder.bytes(spec)
        #expect(bytes.count == 60)
        let f = try parse(bytes)
        #expect(f.ipLen == 28 && f.payloadLen == 0 && f.wireLength == 60)
    }

    @Test func rawAndSLLLinkTypes() throws {
        let frame = PacketBuilder.bytes(samplePackets()[0].spec)
        let ip = Array(frame[14...])
        #expect(try parse(ip, linkType: .raw).srcPort == 5353)
        #expect(try parse(ip, linkType: .ipv4).dstPort == 53)
        let ip6 = Array(PacketBuilder.bytes(samplePackets()[5].spec)[14...])
        #expect(try parse(ip6, linkType: .raw).srcPort == 80)
        #expect(try parse(ip6, linkType: .ipv6).tcpFlags == 0x19)
        let sll = [UInt8](repeating: 0, count: 14) + [0x08, 0x00] + ip
        #expect(try parse(sll, linkType: .linuxSLL).srcPort == 5353)
        let sll2 = [0x08, 0x00] + [UInt8](repeating: 0, count: 18) + ip
        #expect(try parse(sll2, linkType: .linuxSLL2).srcPort == 5353)
    }

    @Test func walkVisitsOnlyPresentFields() throws {
        let f = try parse(PacketBuilder.bytes(samplePackets()[1].spec))
        for field in PacketField.allCases where field != .direction && !field.name.hasPrefix("icmp") {
            #expect(f.value(of: field.name) != nil, "\(field.name)")
        }
        #expect(f.value(of: "src_ip") == Int(ip4("172.16.5.4")))
        #expect(f.value(of: "icmp_type") == nil)
        #expect(f.value(of: "no_such_field") == nil)
    }
}

@Suite struct ParserErrorTests {
    func expectError(_ bytes: [UInt8], _ kind: PacketParseError.Kind, at offset: Int, linkType: LinkType = .ethernet,
                     wireLength: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let e = parseError(bytes, linkType: linkType, wireLength: wireLength)
        #expect(e == PacketParseError(kind, at: offset), sourceLocation: sourceLocation)
    }

    @Test func truncationAtEveryLayerTCP() {
        let frame = PacketBuilder.bytes(samplePackets()[1].spec)  // VLAN, IPv4 + 4 option bytes, TCP
        for n in 0..<frame.count {
            let cut = Array(frame[..<n])
            let e = parseError(cut, wireLength: frame.count)
            switch n {
            case 0..<14: #expect(e == PacketParseError(.truncatedEthernet, at: 0))
            case 14..<18: #expect(e == PacketParseError(.truncatedVLAN, at: 14))
            case 18..<38: #expect(e == PacketParseError(.truncatedIPv4, at: 18))
            case 38..<42: #expect(e == PacketParseError(.truncatedIPv4, at: 38))
            case 42..<62: #expect(e == PacketParseError(.truncatedTCP, at: 42))
            default: #expect(e == nil, "\(n)")
            }
            // Without a wire length the frame was not cut by the capture: the IP length lies.
            if n >= 42 && n < frame.count {
                #expect(parseError(cut) == PacketParseError(.badIPv4TotalLength, at: 20))
            }
        }
    }

    @Test func truncationUDPAndICMPAndIPv6() {
        let udp = PacketBuilder.bytes(samplePackets()[0].spec)
        expectError(Array(udp[..<40]), .truncatedUDP, at: 34, wireLength: 64)
        let icmp = PacketBuilder.bytes(samplePackets()[2].spec)
        expectError(Array(icmp[..<(22 + 20 + 7)]), .truncatedICMP, at: 42, wireLength: icmp.count)
        let v6 = PacketBuilder.bytes(samplePackets()[3].spec)
        expectError(Array(v6[..<50]), .truncatedIPv6, at: 14, wireLength: v6.count)
        expectError(Array(v6[..<60]), .truncatedIPv6Extension, at: 54, wireLength: v6.count)
        expectError(Array(v6[..<66]), .truncatedIPv6Extension, at: 62, wireLength: v6.count)
        expectError(Array(v6[..<72]), .truncatedUDP, at: 70, wireLength: v6.count)
        expectError(Array(v6[..<60]), .badIPv6PayloadLength, at: 18)
        let icmp6 = PacketBuilder.bytes(samplePackets()[4].spec)
        expectError(Array(icmp6[..<58]), .truncatedICMP, at: 54, wireLength: icmp6.count)
    }

    @Test func inconsistentHeaders() {
        var f = PacketBuilder.bytes(samplePackets()[0].spec)
        f[14] = 0x55
        expectError(f, .badIPv4Version, at: 14)
        f[14] = 0x44
        expectError(f, .badIPv4HeaderLength, at: 14)
        f[14] = 0x4F  // 60-byte header in a 50-byte packet
        expectError(f, .truncatedIPv4, at: 34)
        f[14] = 0x45
        f[16] = 0; f[17] = 10
        expectError(f, .badIPv4TotalLength, at: 16)
        f = PacketBuilder.bytes(samplePackets()[0].spec)
        f[38] = 0; f[39] = 7
        expectError(f, .badUDPLength, at: 38)
        f[38] = 0; f[39] = 200
        expectError(f, .badUDPLength, at: 38)

        var t = PacketBuilder.bytes(samplePackets()[1].spec)
        t[42 + 12] = 0x40
        expectError(t, .badTCPDataOffset, at: 54)
        t[42 + 12] = 0xF0  // 60-byte TCP header, not captured
        expectError(t, .truncatedTCP, at: 62)
        expectError(t, .truncatedTCP, at: 62, wireLength: 200)

        var v6 = PacketBuilder.bytes(samplePackets()[3].spec)
        v6[14] = 0x45
        expectError(v6, .badIPv6Version, at: 14)
        v6 = PacketBuilder.bytes(samplePackets()[3].spec)
        v6[54 + 1] = 40  // hop-by-hop claims 328 bytes
        expectError(v6, .truncatedIPv6Extension, at: 54)
    }

    @Test func dnsTruncated() throws {
        let spec = PacketSpec.udp4(source: 1, destination: 2, sourcePort: 999, destinationPort: 53, frameLength: 42 + 5)
        let bytes = PacketBuilder.bytes(spec)
        let e: PacketParseError? = bytes.withUnsafeBytes { b in
            var f = PacketFeatures()
            do throws(PacketParseError) {
                let l = try PacketParser.parse(b, into: &f)
                _ = try PacketParser.dns(b, l, f)
                return nil
            } catch { return error }
        }
        #expect(e == PacketParseError(.truncatedDNS, at: 42))
    }

    @Test func linkLayerErrors() {
        expectError([], .truncatedIPv4, at: 0, linkType: .raw)
        expectError([0x10], .badIPv4Version, at: 0, linkType: .raw)
        expectError([1, 2, 3], .truncatedLinuxSLL, at: 0, linkType: .linuxSLL)
        expectError([1, 2, 3], .truncatedLinuxSLL, at: 0, linkType: .linuxSLL2)
        expectError([0, 0, 0, 0], .unsupportedLinkType, at: 0, linkType: LinkType(rawValue: 9999))
        var arp = [UInt8](repeating: 0, count: 42)
        arp[12] = 0x08; arp[13] = 0x06
        expectError(arp, .notIP, at: 12)
        expectError([UInt8](repeating: 0, count: 13), .truncatedEthernet, at: 0)
        expectError([UInt8](repeating: 0, count: 14) + [], .notIP, at: 12)
        var vlanOnly = [UInt8](repeating: 0, count: 16)
        vlanOnly[12] = 0x81
        expectError(vlanOnly, .truncatedVLAN, at: 14)
    }

    /// Random bytes never trap, whatever the link type.
    @Test func randomBytesNeverTrap() {
        var rng = SystemRandomNumberGenerator()
        let seeds = samplePackets().map { PacketBuilder.bytes($0.spec, payload: $0.payload) }
        for i in 0..<20_000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<(1 + i % 4) {
                let at = Int.random(in: 0..<b.count, using: &rng)
                b[at] = UInt8.random(in: 0...255, using: &rng)
            }
            let n = Int.random(in: 0...b.count, using: &rng)
            let cut = Array(b[..<n])
            for lt in [LinkType.ethernet, .raw, .linuxSLL] {
                _ = parseError(cut, linkType: lt, wireLength: i % 2 == 0 ? nil : b.count)
            }
        }
    }
}
