import Packets

/// The state `syn-auth` and `flow-check` decide by, kept the way the XDP program keeps it
/// (maps `syn_pending`, `syn_ok` and `flows` in maps.bpf.h), so the reference matcher and the
/// kernel agree packet by packet. The kernel's maps are LRU hashes of fixed size; this model
/// never evicts, which is what the kernel does too while the maps are not full.
///
/// Why retransmission and not SYN cookies: a cookie answered from XDP needs the host's stack to
/// accept the cookie's ACK as a connection (the SYNPROXY target on the host, kernel ≥ 6.0), a
/// setup Holon would have to impose on every protected host. A dropped first SYN costs a real
/// client one retransmission timeout (1 s on Linux, RFC 6298) and nothing after: once
/// authenticated, its later connections to the same service pass at once. A spoofed flood
/// never sends the same SYN twice a retransmission timeout apart, so none of it passes.
public struct ConnectionAuth: Sendable, Hashable {
    /// A retransmitted SYN sooner than this after the first is a duplicate, not a retransmission
    /// (a flood that sends each packet twice must not authenticate itself).
    public static let minRetransmitGapNs: UInt64 = 200_000_000
    /// A SYN later than this after the first starts over: the first is forgotten.
    public static let maxRetransmitGapNs: UInt64 = 30_000_000_000

    /// Both addresses and ports as the packet carries them; `srcPort` is 0 in an
    /// authenticated-source key (any source port of an authenticated client passes).
    public struct Key: Hashable, Sendable {
        public var src: IPAddress
        public var dst: IPAddress
        public var srcPort: UInt16
        public var dstPort: UInt16

        public init(src: IPAddress, dst: IPAddress, srcPort: UInt16, dstPort: UInt16) {
            self.src = src
            self.dst = dst
            self.srcPort = srcPort
            self.dstPort = dstPort
        }

        /// The packet's 4-tuple as it arrives.
        public init(_ f: PacketFeatures) {
            self.init(src: f.srcIP, dst: f.dstIP, srcPort: f.srcPort, dstPort: f.dstPort)
        }
    }

    /// First SYN seen, by 4-tuple: when (packet timestamp, ns).
    public private(set) var pending: [Key: UInt64] = [:]
    /// Sources that retransmitted, by (source, destination, 0, destination port).
    public private(set) var authenticated: Set<Key> = []
    /// Connections the host has, as their packets arrive (the reverse of what left).
    public private(set) var flows: Set<Key> = []

    public init() {}

    /// The `syn-auth` decision for a SYN the rule matched: true passes it.
    public mutating func admitSYN(_ f: PacketFeatures) -> Bool {
        let tuple = Key(f)
        let source = Key(src: f.srcIP, dst: f.dstIP, srcPort: 0, dstPort: f.dstPort)
        if authenticated.contains(source) { return true }
        guard let first = pending[tuple] else {
            pending[tuple] = f.timestamp
            return false
        }
        let gap = f.timestamp &- first
        if f.timestamp < first || gap > Self.maxRetransmitGapNs {
            pending[tuple] = f.timestamp
            return false
        }
        guard gap >= Self.minRetransmitGapNs else { return false }
        pending[tuple] = nil
        authenticated.insert(source)
        return true
    }

    /// The `flow-check` decision: true when the packet belongs to a connection the host has.
    public func admitFlow(_ f: PacketFeatures) -> Bool {
        flows.contains(Key(f))
    }

    /// What the egress half does with a TCP packet the host sends: its connection, reversed,
    /// is known from now on; a reset it sends ends it.
    public mutating func observeEgress(_ f: PacketFeatures) {
        guard f.isTCP, f.hasTransportHeader else { return }
        let back = Key(src: f.dstIP, dst: f.srcIP, srcPort: f.dstPort, dstPort: f.srcPort)
        if f.tcpFlags & TCPFlag.rst != 0 {
            flows.remove(back)
        } else {
            flows.insert(back)
        }
    }
}

/// TCP flag bits the connection checks test.
enum TCPFlag {
    static let syn: UInt8 = 0x02
    static let rst: UInt8 = 0x04
    static let ack: UInt8 = 0x10
}
