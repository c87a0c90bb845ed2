/// What to build: a description made once (it may hold arrays), turned into bytes many times by
/// ``PacketBuilder``.
public struct PacketSpec: Sendable {
    public struct Ethernet: Sendable {
        public var destination: MACAddress
        public var source: MACAddress
        /// Outer tag first. Two tags make 802.1ad Q-in-Q (S-tag 0x88A8, then C-tag 0x8100).
        public var vlans: [UInt16]

        public init(destination: MACAddress = MACAddress(0x02_00_00_00_00_02),
                    source: MACAddress = MACAddress(0x02_00_00_00_00_01), vlans: [UInt16] = []) {
            self.destination = destination
            self.source = source
            self.vlans = vlans
        }
    }

    public struct IPv4: Sendable {
        public var source: UInt32
        public var destination: UInt32
        public var ttl: UInt8 = 64
        public var identification: UInt16 = 0
        public var dscp: UInt8 = 0
        public var ecn: UInt8 = 0
        public var dontFragment = false
        public var moreFragments = false
        /// In 8-byte units.
        public var fragmentOffset: UInt16 = 0
        /// Raw option bytes, padded to a multiple of 4 with end-of-options.
        public var options: [UInt8] = []
        /// Protocol number when the transport is ``Transport/none``.
        public init(source: UInt32, destination: UInt32) {
            self.source = source
            self.destination = destination
        }
    }

    public struct IPv6: Sendable {
        public var source: (UInt64, UInt64)
        public var destination: (UInt64, UInt64)
        public var hopLimit: UInt8 = 64
        public var trafficClass: UInt8 = 0
        public var flowLabel: UInt32 = 0
        /// Extension headers before the transport, in order: their protocol numbers (0, 43, 60,
        /// 51, 44). Each is built minimal (8 bytes; AH 12 + 4 ICV = 16) with zero contents; a
        /// fragment header uses the fields below.
        public var extensions: [UInt8] = []
        public var fragmentOffset: UInt16 = 0
        public var moreFragments = false
        public var fragmentIdentification: UInt32 = 0

        public init(source: IPAddress, destination: IPAddress) {
            func halves(_ a: IPAddress) -> (UInt64, UInt64) {
                switch a {
                case .v4(let x): return (0, 0xFFFF_0000_0000 | UInt64(x))
                case .v6(let h, let l): return (h, l)
                }
            }
            self.source = halves(source)
            self.destination = halves(destination)
        }
    }

    public enum Network: Sendable {
        case v4(IPv4)
        case v6(IPv6)
    }

    public enum Transport: Sendable {
        case udp(source: UInt16, destination: UInt16)
        case tcp(source: UInt16, destination: UInt16, flags: TCPFlags, window: UInt16 = 65535,
                 sequence: UInt32 = 0, acknowledgment: UInt32 = 0, urgentPointer: UInt16 = 0)
        /// ICMP for IPv4, ICMPv6 for IPv6; `rest` is the 4 bytes after the checksum (id, seq).
        case icmp(type: UInt8, code: UInt8, rest: UInt32 = 0)
        /// No transport header: the payload follows IP with this protocol number (also what a
        /// non-first fragment carries).
        case none(proto: UInt8)
    }

    /// nil for a raw-IP packet.
    public var ethernet: Ethernet?
    public var network: Network
    public var transport: Transport
    /// Payload bytes after the transport header (zeros unless the builder is given bytes).
    public var payloadLength: Int
    /// Pad the frame with zeros up to this length (e.g. 60, Ethernet's minimum without FCS);
    /// padding is outside the IP length.
    public var minimumFrameLength: Int

    public init(ethernet: Ethernet? = Ethernet(), network: Network, transport: Transport,
                payloadLength: Int = 0, minimumFrameLength: Int = 0) {
        self.ethernet = ethernet
        self.network = network
        self.transport = transport
        self.payloadLength = payloadLength
        self.minimumFrameLength = minimumFrameLength
    }

    /// A UDP/IPv4 frame of exactly `frameLength` bytes (≥ 42).
    public static func udp4(source: UInt32, destination: UInt32, sourcePort: UInt16, destinationPort: UInt16,
                            frameLength: Int = 64) -> PacketSpec {
        PacketSpec(network: .v4(IPv4(source: source, destination: destination)),
                   transport: .udp(source: sourcePort, destination: destinationPort),
                   payloadLength: max(0, frameLength - 42))
    }

    var ipv4OptionsLength: Int {
        guard case .v4(let v4) = network else { return 0 }
        return (v4.options.count + 3) & ~3
    }

    var ipv6ExtensionsLength: Int {
        guard case .v6(let v6) = network else { return 0 }
        return v6.extensions.reduce(0) { $0 + ($1 == IPProtocol.ah ? 16 : 8) }
    }

    var transportLength: Int {
        switch transport {
        case .udp: return 8
        case .tcp: return 20
        case .icmp: return 8
        case .none: return 0
        }
    }

    /// The frame length `PacketBuilder.build` writes for a payload of `payloadLength` bytes.
    public var frameLength: Int {
        let l2 = ethernet.map { 14 + 4 * $0.vlans.count } ?? 0
        let l3: Int
        switch network {
        case .v4: l3 = 20 + ipv4OptionsLength
        case .v6: l3 = 40 + ipv6ExtensionsLength
        }
        return max(minimumFrameLength, l2 + l3 + transportLength + payloadLength)
    }
}
