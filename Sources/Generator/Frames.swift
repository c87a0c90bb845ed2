import CGeneratorShim
import Packets
import Traffic

/// How the IP identification of a frame changes from one send to the next.
public enum IPIDMode: Sendable, Hashable {
    case keep
    case random
    case incrementing
}

/// What a sender changes in a prebuilt frame before each transmission; every change patches the
/// checksums incrementally (RFC 1624) through ``PacketLayout``.
public struct FrameVariation: Sendable, Hashable {
    /// A fresh random source address inside this block per packet (spoofing; /0 is all of IPv4).
    public var sourceBlock: IPPrefix?
    /// Sources drawn inside this block are moved out of it (the protected network).
    public var avoid: IPPrefix?
    /// A random destination inside this block per packet (an attack on a whole network).
    public var destinationBlock: IPPrefix?
    public var sourcePorts: ClosedRange<UInt16>?
    public var destinationPorts: ClosedRange<UInt16>?
    public var ipID: IPIDMode = .keep
    public var ttl: ClosedRange<UInt8>?

    public init(sourceBlock: IPPrefix? = nil, avoid: IPPrefix? = nil, destinationBlock: IPPrefix? = nil,
                sourcePorts: ClosedRange<UInt16>? = nil, destinationPorts: ClosedRange<UInt16>? = nil,
                ipID: IPIDMode = .keep, ttl: ClosedRange<UInt8>? = nil) {
        self.sourceBlock = sourceBlock
        self.avoid = avoid
        self.destinationBlock = destinationBlock
        self.sourcePorts = sourcePorts
        self.destinationPorts = destinationPorts
        self.ipID = ipID
        self.ttl = ttl
    }

    public static let none = FrameVariation()

    public var isNone: Bool { self == .none }

    /// The per-packet freedom an attack of this kind has in the scenario model: spoofed sources
    /// (when the attack has no fixed source set), random ports where the tool randomises them, the
    /// kind's IP-ID scheme, a random victim inside a victim block.
    public static func forAttack(_ a: AttackSpec, protected: IPPrefix) -> FrameVariation {
        var v = FrameVariation()
        if a.sources.count == nil && a.kind != .dnsReflection {
            v.sourceBlock = a.sources.prefix
            v.avoid = protected
        }
        if a.victim.length < 32 && a.kind != .dnsReflection { v.destinationBlock = a.victim }
        switch a.kind {
        case .synFlood:
            v.sourcePorts = 1024...65535; v.ipID = .random
        case .ackFlood:
            v.sourcePorts = 1024...65535
        case .udpFlood:
            v.sourcePorts = 1024...65535; v.destinationPorts = 1...65535; v.ipID = .incrementing
        case .ntpAmplification, .chargenReflection:
            v.destinationPorts = 1024...65535; v.ipID = .random
        case .icmpFlood:
            v.ipID = .incrementing
        case .fragmentFlood:
            v.ipID = .random
        case .dnsReflection:
            break  // fragments of one response must keep matching headers
        case .payloadMarker:
            v.sourcePorts = 1024...65535; v.destinationPorts = 1...65535; v.ipID = .random; v.ttl = 30...255
        case .synAckReflection, .dnsCarpet:
            v.destinationPorts = 1024...65535; v.ipID = .random
        case .synRandom, .ackRandom:
            // Window and DF stay as the template has them: the frame variation has no knob for them.
            v.sourcePorts = 1024...65535; v.ipID = .random; v.ttl = 30...255
        }
        return v
    }
}

/// One packet of a phase's mix before MAC addresses are known.
public struct PlannedPacket: Sendable {
    public var spec: PacketSpec
    /// The payload's first bytes (zeros after them): a marker, a protocol's header.
    public var payload: PayloadHead
    public var variation: FrameVariation
    public var isAttack: Bool

    public init(spec: PacketSpec, payload: PayloadHead = PayloadHead(), variation: FrameVariation = .none, isAttack: Bool = false) {
        self.spec = spec
        self.payload = payload
        self.variation = variation
        self.isAttack = isAttack
    }
}

/// A stretch of sending: a rate and a mix of packets sent in rotation.
public struct PhasePlan: Sendable {
    public var name: String
    /// Seconds.
    public var duration: Double
    /// Packets per second; nil sends as fast as the engine can, 0 sends nothing.
    public var pps: Double?
    /// The mix: a sample of the phase's packets in scenario proportions.
    public var packets: [PlannedPacket]

    public init(name: String, duration: Double, pps: Double?, packets: [PlannedPacket]) {
        self.name = name
        self.duration = duration
        self.pps = pps
        self.packets = packets
    }
}

/// Named single-phase traffic for `--profile`: normal traffic, one attack kind, or plain 64-byte
/// UDP (the benchmark packet).
public enum TrafficProfile: Sendable, Hashable {
    case normal
    case attack(AttackKind)
    case udp64

    public static var names: [String] { ["normal", "udp64"] + AttackKind.allCases.map(\.rawValue) }

    public init?(_ name: String) {
        switch name {
        case "normal": self = .normal
        case "udp64", "udp-64": self = .udp64
        default:
            guard let k = AttackKind(rawValue: name) else { return nil }
            self = .attack(k)
        }
    }

    public var name: String {
        switch self {
        case .normal: return "normal"
        case .udp64: return "udp64"
        case .attack(let k): return k.rawValue
        }
    }
}

/// What to send: phases that switch on time.
public struct TrafficPlan: Sendable {
    public var name: String
    public var phases: [PhasePlan]

    public init(name: String, phases: [PhasePlan]) {
        self.name = name
        self.phases = phases
    }

    public var duration: Double { phases.reduce(0) { $0 + $1.duration } }

    /// The scenario's phases at their own rates (normal + attack), or all at `pps` with the same
    /// mix. Each phase's mix is `samples` packets drawn from the scenario's own stream for that
    /// phase (same seed, so the same reflector and client pools), varied per packet on the wire.
    public static func scenario(_ scenario: Scenario, pps: Double? = nil, unlimited: Bool = false,
                                samples: Int = 4096) -> TrafficPlan {
        var phases: [PhasePlan] = []
        for (k, phase) in scenario.phases.enumerated() {
            let rate = phase.normalRate + (phase.attack?.rate ?? 0)
            let target: Double? = unlimited ? nil : (pps ?? rate)
            phases.append(PhasePlan(name: phase.name, duration: phase.duration, pps: rate > 0 ? target : 0,
                                    packets: rate > 0 ? sample(scenario, phase: k, count: samples) : []))
        }
        return TrafficPlan(name: scenario.name, phases: phases)
    }

    /// One phase of a profile at `pps` (nil: unlimited) for `duration` seconds.
    public static func profile(_ profile: TrafficProfile, pps: Double?, duration: Double, seed: UInt64 = 1,
                               victim: IPPrefix = IPPrefix("198.51.100.10")!, samples: Int = 4096) -> TrafficPlan {
        let rate = pps ?? 1_000_000
        switch profile {
        case .udp64:
            var ip = PacketSpec.IPv4(source: 0x0A00_0001, destination: victim.ipv4Network)
            ip.ttl = 64
            let spec = PacketSpec(network: .v4(ip), transport: .udp(source: 1024, destination: 9), payloadLength: 64 - 42)
            let v = FrameVariation(sourceBlock: IPPrefix("10.0.0.0/8")!, sourcePorts: 1024...65535, ipID: .incrementing)
            return TrafficPlan(name: "udp64", phases: [PhasePlan(name: "udp64", duration: duration, pps: pps,
                                                                 packets: [PlannedPacket(spec: spec, variation: v, isAttack: true)])])
        case .normal:
            let s = Scenario(name: "normal", seed: seed, phases: [ScenarioPhase(name: "normal", duration: duration, normalRate: rate)])
            return scenario(s, pps: pps, unlimited: pps == nil, samples: samples)
        case .attack(let kind):
            let s = Scenario(name: kind.rawValue, seed: seed, phases: [
                ScenarioPhase(name: kind.rawValue, duration: duration, normalRate: 0,
                              attack: AttackSpec(kind: kind, rate: rate, victim: victim)),
            ])
            return scenario(s, pps: pps, unlimited: pps == nil, samples: samples)
        }
    }

    /// `count` packets of phase `k`, in the scenario's proportions: the scenario is replayed with
    /// the earlier phases emptied (the generators' seeds depend only on the scenario seed and the
    /// phase index) and phase k shortened to about `count` packets.
    static func sample(_ scenario: Scenario, phase k: Int, count: Int) -> [PlannedPacket] {
        var s = scenario
        let p = scenario.phases[k]
        let rate = p.normalRate + (p.attack?.rate ?? 0)
        for i in 0..<k {
            s.phases[i].normalRate = 0
            s.phases[i].attack = nil
            s.phases[i].duration = 0.001
        }
        s.phases[k].duration = max(Double(count) / rate, 1e-6)
        s.phases = Array(s.phases[0...k])
        let variation = p.attack.map { FrameVariation.forAttack($0, protected: scenario.normal.network) } ?? .none
        var out: [PlannedPacket] = []
        out.reserveCapacity(count + 8)
        for lp in s.stream() where lp.phase == k {
            out.append(PlannedPacket(spec: lp.spec, payload: lp.features.payload, variation: lp.isAttack ? variation : .none,
                                     isAttack: lp.isAttack))
        }
        return out
    }
}

/// A phase's frames built once with their final MAC addresses, in one contiguous slab, read by
/// every sender thread (each thread copies a frame out and varies the copy).
public final class FramePool: @unchecked Sendable {
    public let count: Int
    let slab: UnsafeMutableRawPointer
    let offsets: UnsafeMutablePointer<Int>
    let layouts: UnsafeMutablePointer<PacketLayout>
    /// The distinct variations of the pool's frames.
    public let variations: [FrameVariation]
    let variationIndex: UnsafeMutablePointer<Int32>
    /// Per frame, what the XDP program needs to vary its copies (variation indexes local).
    let metas: UnsafeMutablePointer<hg_frame_meta>
    /// Where this pool's variations start in the XDP program's table (set before sending).
    var variationBase: UInt32 = 0
    /// The largest frame.
    public let maxLength: Int

    public init(_ packets: [PlannedPacket], source: MACAddress, destination: MACAddress) {
        var specs = packets.map { p -> PacketSpec in
            var s = p.spec
            s.ethernet = PacketSpec.Ethernet(destination: destination, source: source, vlans: s.ethernet?.vlans ?? [])
            return s
        }
        if specs.isEmpty { specs = [] }
        count = specs.count
        let total = specs.reduce(0) { $0 + (($1.frameLength + 63) & ~63) }
        slab = UnsafeMutableRawPointer.allocate(byteCount: max(total, 64), alignment: 64)
        offsets = .allocate(capacity: max(count, 1))
        layouts = .allocate(capacity: max(count, 1))
        variationIndex = .allocate(capacity: max(count, 1))
        metas = .allocate(capacity: max(count, 1))
        var vars: [FrameVariation] = []
        var index: [FrameVariation: Int32] = [:]
        var off = 0
        var maxLen = 0
        for (i, spec) in specs.enumerated() {
            let len = spec.frameLength
            let buf = UnsafeMutableRawBufferPointer(start: slab + off, count: len)
            let layout = packets[i].payload.withBytes { PacketBuilder.build(spec, payload: $0.isEmpty ? nil : $0, into: buf)! }
            offsets[i] = off
            (layouts + i).initialize(to: layout)
            let v = packets[i].variation
            if let j = index[v] { variationIndex[i] = j } else {
                index[v] = Int32(vars.count); variationIndex[i] = Int32(vars.count); vars.append(v)
            }
            metas[i] = hg_frame_meta(layout, variation: UInt32(variationIndex[i]))
            off += (len + 63) & ~63
            maxLen = max(maxLen, len)
        }
        variations = vars
        maxLength = maxLen
    }

    deinit {
        slab.deallocate()
        offsets.deallocate()
        layouts.deinitialize(count: count)
        layouts.deallocate()
        variationIndex.deallocate()
        metas.deallocate()
    }

    /// The frame's bytes as built (no variation).
    public func frame(_ i: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: slab + offsets[i], count: layouts[i].length))
    }
}

/// A thread's cursor over a pool: copies the next frame into a buffer and varies it.
struct FrameCursor {
    let pool: FramePool
    var next: Int
    var rng: TrafficRandom
    var ipID: UInt16

    init(pool: FramePool, start: Int, seed: UInt64) {
        self.pool = pool
        next = pool.count == 0 ? 0 : start % pool.count
        rng = TrafficRandom(seed: seed)
        ipID = rng.word16()
    }

    /// Writes one frame into `dst` (at least `pool.maxLength` bytes); returns its length and what
    /// the XDP program needs to vary further copies of it.
    @inline(__always)
    mutating func write(into dst: UnsafeMutableRawPointer) -> WrittenFrame {
        let i = next
        var meta = pool.metas[i]
        if meta.variation != UInt32.max { meta.variation &+= pool.variationBase }
        return WrittenFrame(length: vary(i, into: dst), meta: meta)
    }

    @inline(__always)
    mutating func vary(_ i: Int, into dst: UnsafeMutableRawPointer) -> Int {
        next += 1
        if next == pool.count { next = 0 }
        let layout = pool.layouts[i]
        let len = layout.length
        dst.copyMemory(from: pool.slab + pool.offsets[i], byteCount: len)
        let vi = Int(pool.variationIndex[i])
        if vi == 0 && pool.variations[0].isNone { return len }
        let v = pool.variations[vi]
        let buf = UnsafeMutableRawBufferPointer(start: dst, count: len)
        guard layout.ipVersion == 4 else { return len }
        if let b = v.sourceBlock {
            var a = b.ipv4Address(at: rng.word32())
            if let avoid = v.avoid, avoid.contains(ipv4: a), b.length < avoid.length { a ^= 0x8000_0000 }
            layout.setIPv4Source(a, in: buf)
        }
        if let b = v.destinationBlock {
            layout.setIPv4Destination(b.ipv4Address(at: rng.word32()), in: buf)
        }
        if let r = v.sourcePorts {
            layout.setSourcePort(UInt16(rng.between(UInt32(r.lowerBound), UInt32(r.upperBound))), in: buf)
        }
        if let r = v.destinationPorts {
            layout.setDestinationPort(UInt16(rng.between(UInt32(r.lowerBound), UInt32(r.upperBound))), in: buf)
        }
        switch v.ipID {
        case .keep: break
        case .random: layout.setIPv4Identification(rng.word16(), in: buf)
        case .incrementing: ipID &+= 1; layout.setIPv4Identification(ipID, in: buf)
        }
        if let r = v.ttl {
            layout.setIPv4TTL(UInt8(rng.between(UInt32(r.lowerBound), UInt32(r.upperBound))), in: buf)
        }
        return len
    }
}

/// The public face of the per-thread frame cursor: copies the pool's frames out in rotation and
/// varies each copy (for tools and tests; the senders use the same code).
public struct FrameWriter {
    var cursor: FrameCursor

    public init(pool: FramePool, start: Int = 0, seed: UInt64 = 1) {
        cursor = FrameCursor(pool: pool, start: start, seed: seed)
    }

    /// Writes the next frame into `buffer` (at least ``frameCapacity`` bytes); returns its length.
    public mutating func write(into buffer: UnsafeMutableRawPointer) -> Int { cursor.write(into: buffer).length }
}

/// A frame a cursor wrote: its length, and its metadata for the XDP live-frames program.
public struct WrittenFrame {
    public var length: Int
    public var meta: hg_frame_meta
}
