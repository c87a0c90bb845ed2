/// Running totals over a capture (`holon pcap info`): packets, bytes, time span, protocol mix,
/// talkers and ports. Computed here rather than in the CLI so the numbers are tested beside
/// the reader that feeds them; the CLI only prints the ``CaptureSummary``.
public struct CaptureStatistics: Sendable {
    public var format = ""
    public private(set) var packets = 0
    public private(set) var bytes = 0
    public private(set) var capturedBytes = 0
    public private(set) var first: UInt64 = .max
    public private(set) var last: UInt64 = 0
    public private(set) var protocols: [String: Int] = [:]
    public private(set) var sources: [IPAddress: Int] = [:]
    public private(set) var destinations: [IPAddress: Int] = [:]
    public private(set) var ports: [String: Int] = [:]
    public private(set) var linkTypes: [String: Int] = [:]
    public private(set) var parseErrors: [String: Int] = [:]

    public init() {}

    public mutating func add(_ p: CapturedPacket) {
        packets += 1
        bytes += p.originalLength
        capturedBytes += p.capturedLength
        // A zero timestamp means the source had none; it must not stretch the span.
        if p.timestamp != 0 {
            first = min(first, p.timestamp)
            last = max(last, p.timestamp)
        }
        linkTypes[p.linkType.description, default: 0] += 1
        let f: PacketFeatures
        do {
            f = try p.features()
        } catch {
            if error.kind == .notIP {
                protocols["non-ip", default: 0] += 1
            } else {
                protocols["malformed", default: 0] += 1
                parseErrors["\(error.kind)", default: 0] += 1
            }
            return
        }
        let name = IPProtocol.name(f.proto) + (f.ipVersion == 6 && f.proto != IPProtocol.icmpv6 ? "6" : "")
        protocols[name, default: 0] += 1
        sources[f.srcIP, default: 0] += 1
        destinations[f.dstIP, default: 0] += 1
        if f.hasPorts {
            ports["\(IPProtocol.name(f.proto))/\(f.dstPort)", default: 0] += 1
        }
    }

    /// Seconds from the first to the last timestamped packet; 0 when none had a timestamp.
    public var duration: Double { packets > 0 && first != .max ? Double(last - first) / 1e9 : 0 }

    /// The totals as the report `holon pcap info` prints, the `top` largest of each ranking;
    /// `error`, when reading stopped early, is named with `file`.
    public func summary(file: String, top: Int, error: CaptureError?) -> CaptureSummary {
        func topK<K>(_ d: [K: Int], _ name: (K) -> String) -> [CaptureSummary.Count] {
            d.sorted { $0.value != $1.value ? $0.value > $1.value : name($0.key) < name($1.key) }
                .prefix(top).map { CaptureSummary.Count(name: name($0.key), packets: $0.value) }
        }
        let duration = self.duration
        return CaptureSummary(
            file: file, format: format, packets: packets, bytes: bytes, captured_bytes: capturedBytes,
            first_ns: first == .max ? nil : first, last_ns: first == .max ? nil : last,
            duration_s: duration,
            packets_per_s: duration > 0 ? Double(packets) / duration : nil,
            bits_per_s: duration > 0 ? Double(bytes) * 8 / duration : nil,
            link_types: linkTypes,
            protocols: protocols.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { .init(name: $0.key, packets: $0.value) },
            top_sources: topK(sources, { $0.description }),
            top_destinations: topK(destinations, { $0.description }),
            top_ports: topK(ports, { $0 }),
            parse_errors: parseErrors,
            error: error.map { e in var e = e; e.path = file; return e.description }
        )
    }
}

/// What `holon pcap info` reports; the property names are its JSON keys.
public struct CaptureSummary: Codable, Sendable {
    public struct Count: Codable, Sendable, Equatable {
        public var name: String
        public var packets: Int
        public init(name: String, packets: Int) {
            self.name = name
            self.packets = packets
        }
    }

    public var file: String
    public var format: String
    public var packets: Int
    public var bytes: Int
    public var captured_bytes: Int
    public var first_ns: UInt64?
    public var last_ns: UInt64?
    public var duration_s: Double
    public var packets_per_s: Double?
    public var bits_per_s: Double?
    public var link_types: [String: Int]
    public var protocols: [Count]
    public var top_sources: [Count]
    public var top_destinations: [Count]
    public var top_ports: [Count]
    public var parse_errors: [String: Int]
    public var error: String?
}
