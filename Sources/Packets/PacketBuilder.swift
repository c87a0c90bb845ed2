/// Where a built packet's fields sit, so a sender can vary them per packet and patch the
/// checksums incrementally (RFC 1624) instead of recomputing them.
public struct PacketLayout: Hashable, Sendable {
    public var length = 0
    public var l3Offset = 0
    public var ipVersion: UInt8 = 4
    public var l4Offset = -1
    public var payloadOffset = 0
    public var proto: UInt8 = 0
    /// Offset of the TCP/UDP/ICMP checksum, -1 when there is none.
    public var l4ChecksumOffset = -1

    public init() {}

    @inlinable var pseudoHeaderCovered: Bool { proto == IPProtocol.tcp || proto == IPProtocol.udp || proto == IPProtocol.icmpv6 }

    @inlinable
    func patchL4(_ buffer: UnsafeMutableRawBufferPointer, old: UInt16, new: UInt16) {
        guard l4ChecksumOffset >= 0 else { return }
        let ck = buffer.be16(l4ChecksumOffset)
        // A UDP checksum of zero means "none": leave it so; a computed zero is sent as 0xFFFF.
        if proto == IPProtocol.udp && ck == 0 { return }
        var n = Checksum.update(ck, old: old, new: new)
        if n == 0 && proto == IPProtocol.udp { n = 0xFFFF }
        buffer.put16(n, at: l4ChecksumOffset)
    }

    @inlinable
    func patchIPv4Word(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int, _ new: UInt16) {
        let old = buffer.be16(offset)
        buffer.put16(new, at: offset)
        let ck = l3Offset + 10
        buffer.put16(Checksum.update(buffer.be16(ck), old: old, new: new), at: ck)
    }

    @inlinable
    func patchAddress(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int, _ new: UInt32) {
        let old = UInt32(buffer.be16(offset)) << 16 | UInt32(buffer.be16(offset + 2))
        buffer.put32(new, at: offset)
        let ck = l3Offset + 10
        buffer.put16(Checksum.update(buffer.be16(ck), old: old, new: new), at: ck)
        if pseudoHeaderCovered && l4ChecksumOffset >= 0 {
            let ck4 = buffer.be16(l4ChecksumOffset)
            if proto == IPProtocol.udp && ck4 == 0 { return }
            var n = Checksum.update(ck4, old: old, new: new)
            if n == 0 && proto == IPProtocol.udp { n = 0xFFFF }
            buffer.put16(n, at: l4ChecksumOffset)
        }
    }

    /// Sets the IPv4 source address, patching the IP and TCP/UDP checksums.
    @inlinable
    public func setIPv4Source(_ address: UInt32, in buffer: UnsafeMutableRawBufferPointer) {
        patchAddress(buffer, at: l3Offset + 12, address)
    }

    /// Sets the IPv4 destination address, patching the IP and TCP/UDP checksums.
    @inlinable
    public func setIPv4Destination(_ address: UInt32, in buffer: UnsafeMutableRawBufferPointer) {
        patchAddress(buffer, at: l3Offset + 16, address)
    }

    @inlinable
    public func setIPv4Identification(_ id: UInt16, in buffer: UnsafeMutableRawBufferPointer) {
        patchIPv4Word(buffer, at: l3Offset + 4, id)
    }

    @inlinable
    public func setIPv4TTL(_ ttl: UInt8, in buffer: UnsafeMutableRawBufferPointer) {
        let word = UInt16(ttl) << 8 | UInt16(buffer.load(fromByteOffset: l3Offset + 9, as: UInt8.self))
        patchIPv4Word(buffer, at: l3Offset + 8, word)
    }

    /// Sets the TCP/UDP source port, patching the transport checksum.
    @inlinable
    public func setSourcePort(_ port: UInt16, in buffer: UnsafeMutableRawBufferPointer) {
        guard l4Offset >= 0 else { return }
        let old = buffer.be16(l4Offset)
        buffer.put16(port, at: l4Offset)
        patchL4(buffer, old: old, new: port)
    }

    /// Sets the TCP/UDP destination port, patching the transport checksum.
    @inlinable
    public func setDestinationPort(_ port: UInt16, in buffer: UnsafeMutableRawBufferPointer) {
        guard l4Offset >= 0 else { return }
        let old = buffer.be16(l4Offset + 2)
        buffer.put16(port, at: l4Offset + 2)
        patchL4(buffer, old: old, new: port)
    }
}

/// Writes packets with correct checksums into a caller's buffer. Nothing is allocated.
public enum PacketBuilder {
    /// Builds `spec` into `buffer`; `payload`, when given, fills the payload (zeros after it).
    /// Returns nil when the buffer is too small.
    ///
    /// Per packet on the generator's path: each step below is `@inline(__always)` so the split
    /// costs no calls, and none allocates.
    public static func build(_ spec: PacketSpec, payload: UnsafeRawBufferPointer? = nil,
                             into buffer: UnsafeMutableRawBufferPointer) -> PacketLayout? {
        let total = spec.frameLength
        guard buffer.count >= total, let base = buffer.baseAddress else { return nil }
        // Zero first: padding, reserved fields and the payload past `payload` stay zero.
        base.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        var layout = PacketLayout()
        layout.length = total
        let proto = ipProtocol(of: spec)
        layout.proto = proto
        let off = writeEthernet(spec, into: buffer)
        layout.l3Offset = off
        let l4Len = spec.transportLength + spec.payloadLength
        let l4: Int
        let pseudo: UInt64
        switch spec.network {
        case .v4(let ip):
            layout.ipVersion = 4
            (l4, pseudo) = writeIPv4(ip, spec: spec, proto: proto, l4Length: l4Len, at: off, into: buffer)
        case .v6(let ip):
            layout.ipVersion = 6
            (l4, pseudo) = writeIPv6(ip, spec: spec, proto: proto, l4Length: l4Len, at: off, into: buffer)
        }
        layout.payloadOffset = l4 + spec.transportLength
        writeTransport(spec.transport, l4Length: l4Len, at: l4, into: buffer, layout: &layout)
        if let payload { copyPayload(payload, limit: spec.payloadLength, to: base + layout.payloadOffset) }
        // Last: the transport checksum covers the payload.
        writeTransportChecksum(layout, proto: proto, pseudo: pseudo, segment: l4..<(l4 + l4Len), in: buffer)
        return layout
    }

    /// The IP protocol number the network header names: ICMP is ICMPv6 over IPv6.
    @inline(__always)
    private static func ipProtocol(of spec: PacketSpec) -> UInt8 {
        switch spec.transport {
        case .udp: return IPProtocol.udp
        case .tcp: return IPProtocol.tcp
        case .icmp: if case .v4 = spec.network { return IPProtocol.icmp } else { return IPProtocol.icmpv6 }
        case .none(let p): return p
        }
    }

    /// Writes the Ethernet header (MACs, VLAN tags, EtherType) when the spec has one; returns
    /// where the network header starts (0 without Ethernet).
    @inline(__always)
    private static func writeEthernet(_ spec: PacketSpec, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let eth = spec.ethernet else { return 0 }
        buffer.put16(UInt16(truncatingIfNeeded: eth.destination.value >> 32), at: 0)
        buffer.put32(UInt32(truncatingIfNeeded: eth.destination.value), at: 2)
        buffer.put16(UInt16(truncatingIfNeeded: eth.source.value >> 32), at: 6)
        buffer.put32(UInt32(truncatingIfNeeded: eth.source.value), at: 8)
        var off = 12
        for (i, vid) in eth.vlans.enumerated() {
            // Two or more tags: the outer one is an 802.1ad (QinQ) tag.
            let tpid = (eth.vlans.count > 1 && i == 0) ? EtherType.qinq : EtherType.vlan
            buffer.put16(tpid, at: off)
            buffer.put16(vid & 0x0FFF, at: off + 2)
            off += 4
        }
        if case .v4 = spec.network { buffer.put16(EtherType.ipv4, at: off) } else { buffer.put16(EtherType.ipv6, at: off) }
        return off + 2
    }

    /// Writes the IPv4 header (options included) and its checksum at `off`; returns where the
    /// transport header starts and the pseudo-header sum its checksum starts from (none for ICMP).
    @inline(__always)
    private static func writeIPv4(_ ip: PacketSpec.IPv4, spec: PacketSpec, proto: UInt8, l4Length l4Len: Int, at off: Int,
                                  into buffer: UnsafeMutableRawBufferPointer) -> (l4: Int, pseudo: UInt64) {
        let hl = 20 + spec.ipv4OptionsLength
        buffer.put8(0x40 | UInt8(hl / 4), at: off)
        buffer.put8(ip.dscp << 2 | (ip.ecn & 3), at: off + 1)
        buffer.put16(UInt16(truncatingIfNeeded: hl + l4Len), at: off + 2)
        buffer.put16(ip.identification, at: off + 4)
        var ff = ip.fragmentOffset & 0x1FFF
        if ip.dontFragment { ff |= 0x4000 }
        if ip.moreFragments { ff |= 0x2000 }
        buffer.put16(ff, at: off + 6)
        buffer.put8(ip.ttl, at: off + 8)
        buffer.put8(proto, at: off + 9)
        buffer.put32(ip.source, at: off + 12)
        buffer.put32(ip.destination, at: off + 16)
        for (i, b) in ip.options.enumerated() { buffer.put8(b, at: off + 20 + i) }
        let header = UnsafeRawBufferPointer(rebasing: buffer[off..<(off + hl)])
        buffer.put16(Checksum.internet(header), at: off + 10)
        var pseudo: UInt64 = 0
        if proto != IPProtocol.icmp {
            pseudo = Checksum.pseudoHeaderV4(source: ip.source, destination: ip.destination, proto: proto, length: l4Len)
        }
        return (off + hl, pseudo)
    }

    /// Writes the IPv6 header and its extension headers at `off`; returns where the transport
    /// header starts and the pseudo-header sum its checksum starts from.
    @inline(__always)
    private static func writeIPv6(_ ip: PacketSpec.IPv6, spec: PacketSpec, proto: UInt8, l4Length l4Len: Int, at off: Int,
                                  into buffer: UnsafeMutableRawBufferPointer) -> (l4: Int, pseudo: UInt64) {
        let extLen = spec.ipv6ExtensionsLength
        buffer.put32(6 << 28 | UInt32(ip.trafficClass) << 20 | (ip.flowLabel & 0xF_FFFF), at: off)
        buffer.put16(UInt16(truncatingIfNeeded: extLen + l4Len), at: off + 4)
        buffer.put8(ip.extensions.first ?? proto, at: off + 6)
        buffer.put8(ip.hopLimit, at: off + 7)
        buffer.put64(ip.source.0, at: off + 8)
        buffer.put64(ip.source.1, at: off + 16)
        buffer.put64(ip.destination.0, at: off + 24)
        buffer.put64(ip.destination.1, at: off + 32)
        let l4 = writeIPv6Extensions(ip, proto: proto, at: off + 40, into: buffer)
        let addrs = UnsafeRawBufferPointer(rebasing: buffer[(off + 8)..<(off + 40)])
        return (l4, Checksum.pseudoHeaderV6(addresses: addrs, proto: proto, length: l4Len))
    }

    /// Writes the extension headers in order, each naming the next (the last names `proto`);
    /// returns the offset after them.
    @inline(__always)
    private static func writeIPv6Extensions(_ ip: PacketSpec.IPv6, proto: UInt8, at start: Int,
                                            into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var at = start
        for (i, ext) in ip.extensions.enumerated() {
            let next = i + 1 < ip.extensions.count ? ip.extensions[i + 1] : proto
            buffer.put8(next, at: at)
            switch ext {
            case IPProtocol.fragment:
                var fo = ip.fragmentOffset << 3
                if ip.moreFragments { fo |= 1 }
                buffer.put16(fo, at: at + 2)
                buffer.put32(ip.fragmentIdentification, at: at + 4)
                at += 8
            case IPProtocol.ah:
                buffer.put8(2, at: at + 1)  // (16 / 4) - 2
                at += 16
            default:
                // Hop-by-hop / destination options: 6 bytes of PadN; routing: type 0, 0 left.
                if ext != IPProtocol.routing { buffer.put8(1, at: at + 2); buffer.put8(4, at: at + 3) }
                at += 8
            }
        }
        return at
    }

    /// Writes the UDP/TCP/ICMP header at `l4` (checksum left zero) and records in `layout` where
    /// its ports and checksum sit, so senders can patch them.
    @inline(__always)
    private static func writeTransport(_ transport: PacketSpec.Transport, l4Length l4Len: Int, at l4: Int,
                                       into buffer: UnsafeMutableRawBufferPointer, layout: inout PacketLayout) {
        switch transport {
        case .udp(let s, let d):
            buffer.put16(s, at: l4)
            buffer.put16(d, at: l4 + 2)
            buffer.put16(UInt16(truncatingIfNeeded: l4Len), at: l4 + 4)
            layout.l4Offset = l4
            layout.l4ChecksumOffset = l4 + 6
        case .tcp(let s, let d, let flags, let window, let seq, let ack, let urgent):
            buffer.put16(s, at: l4)
            buffer.put16(d, at: l4 + 2)
            buffer.put32(seq, at: l4 + 4)
            buffer.put32(ack, at: l4 + 8)
            buffer.put8(5 << 4, at: l4 + 12)
            buffer.put8(flags.rawValue, at: l4 + 13)
            buffer.put16(window, at: l4 + 14)
            buffer.put16(urgent, at: l4 + 18)
            layout.l4Offset = l4
            layout.l4ChecksumOffset = l4 + 16
        case .icmp(let type, let code, let rest):
            buffer.put8(type, at: l4)
            buffer.put8(code, at: l4 + 1)
            buffer.put32(rest, at: l4 + 4)
            layout.l4Offset = l4
            layout.l4ChecksumOffset = l4 + 2
        case .none:
            layout.l4Offset = -1
        }
    }

    /// Copies at most `limit` bytes of `payload` to `destination`; the rest stays zero.
    @inline(__always)
    private static func copyPayload(_ payload: UnsafeRawBufferPointer, limit: Int, to destination: UnsafeMutableRawPointer) {
        let n = min(payload.count, limit)
        if n > 0, let src = payload.baseAddress {
            destination.copyMemory(from: src, byteCount: n)
        }
    }

    /// Computes the transport checksum over `segment` from the pseudo-header sum, when the
    /// transport has one; a UDP checksum that comes out zero is sent as 0xFFFF (zero means none).
    @inline(__always)
    private static func writeTransportChecksum(_ layout: PacketLayout, proto: UInt8, pseudo: UInt64, segment: Range<Int>,
                                               in buffer: UnsafeMutableRawBufferPointer) {
        guard layout.l4ChecksumOffset >= 0 else { return }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[segment])
        var ck = Checksum.finish(Checksum.sum(bytes, initial: pseudo))
        if ck == 0 && proto == IPProtocol.udp { ck = 0xFFFF }
        buffer.put16(ck, at: layout.l4ChecksumOffset)
    }

    /// Builds into a new array: for tests and tools, not the hot path.
    public static func bytes(_ spec: PacketSpec, payload: [UInt8] = []) -> [UInt8] {
        var s = spec
        if !payload.isEmpty { s.payloadLength = payload.count }
        var out = [UInt8](repeating: 0, count: s.frameLength)
        out.withUnsafeMutableBytes { buf in
            payload.withUnsafeBytes { p in
                _ = build(s, payload: payload.isEmpty ? nil : p, into: buf)
            }
        }
        return out
    }
}
