import Foundation
import Holon
import Packets

/// Everything a ``Detector`` learned in warmup (and since, by adaptation) that it needs to be
/// armed at once in a new run: the baseline (accumulator, reservoir, rate, known sources, drift
/// calibration), the thresholds, and the settings it was learned under.
///
/// Take one with ``Detector/snapshot(savedAt:)``, store it with ``encoded()`` or
/// ``write(to:)``, read it back with ``init(decoding:)`` or ``load(from:maxAge:now:config:)``,
/// and start from it with ``Detector/init(config:restoring:)``. Packet time does not carry over:
/// the new run's clock starts with its first sample, as a fresh detector's does.
public struct DetectorSnapshot: Sendable, Equatable {
    /// The binary format version this build writes and reads.
    public static let formatVersion: UInt16 = 3
    /// Versions this build reads: 1 had no payload heads in its reservoir packets, 2 no attack
    /// memory (it restores with none).
    public static let readableVersions: ClosedRange<UInt16> = 1...3

    /// Wall-clock time of the snapshot, nanoseconds since the Unix epoch (what ``load(from:maxAge:now:config:)``
    /// measures the age from).
    public var savedAtNanoseconds: Int64
    /// ``savedAtNanoseconds`` as a date.
    public var savedAt: Date { Date(timeIntervalSince1970: Double(savedAtNanoseconds) / 1e9) }

    // What must match the restoring detector's config (``compatibility(with:)``).
    /// ``DetectorConfig/dimension`` it was learned at.
    public let dimension: Int
    /// ``DetectorConfig/seed`` of its atoms.
    public let seed: UInt64
    /// ``DetectorConfig/samplingRate`` of the samples it learned from.
    public let samplingRate: Int
    let tickNs: UInt64
    let halfLifeNs: UInt64
    /// Hash of the vectors a few fixed packets encode to: changes when the packet encoding
    /// changes, even at the same dimension and seed.
    let encodingFingerprint: UInt64

    /// The calibrated drift lines.
    public let openThreshold: Double
    public let closeThreshold: Double

    // The baseline accumulator and its norm.
    let sums: [Float]
    let weight: Double
    let vectorCount: Int
    let baselineNorm: Double

    /// Samples the baseline learned (warmup and adaptation).
    public let samples: Int
    let firstTimestamp: UInt64?
    let lastTimestamp: UInt64
    /// Samples per second of normal traffic (times ``samplingRate`` for packets).
    public let sampleRate: Double
    let drift: RunningStats
    /// The reservoir sampler's state, so sampling continues rather than repeats.
    let rngState: [UInt64]
    /// Baseline packets kept to check candidate rules against.
    public internal(set) var reservoir: [PacketFeatures]
    /// Sources seen in normal traffic.
    public let sources: Set<IPAddress>
    /// Attacks closed before the save (``AttackMemory``), so a restarted detector recognises a
    /// returning one from its first samples too. Their times (`lastClosed`, the rules'
    /// `derivedAt`) are nanoseconds before the save: the restored detector's clock is another.
    var attacks: [AttackMemory.Entry]

    init(savedAtNanoseconds: Int64, dimension: Int, seed: UInt64, samplingRate: Int, tickNs: UInt64, halfLifeNs: UInt64,
         encodingFingerprint: UInt64, openThreshold: Double, closeThreshold: Double,
         sums: [Float], weight: Double, vectorCount: Int, baselineNorm: Double,
         samples: Int, firstTimestamp: UInt64?, lastTimestamp: UInt64, sampleRate: Double, drift: RunningStats,
         rngState: [UInt64], reservoir: [PacketFeatures], sources: Set<IPAddress>, attacks: [AttackMemory.Entry]) {
        self.savedAtNanoseconds = savedAtNanoseconds
        self.dimension = dimension
        self.seed = seed
        self.samplingRate = samplingRate
        self.tickNs = tickNs
        self.halfLifeNs = halfLifeNs
        self.encodingFingerprint = encodingFingerprint
        self.openThreshold = openThreshold
        self.closeThreshold = closeThreshold
        self.sums = sums
        self.weight = weight
        self.vectorCount = vectorCount
        self.baselineNorm = baselineNorm
        self.samples = samples
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.sampleRate = sampleRate
        self.drift = drift
        self.rngState = rngState
        self.reservoir = reservoir
        self.sources = sources
        self.attacks = attacks
    }

    /// Attacks the restored detector will recognise when they return.
    public var rememberedAttacks: Int { attacks.count }

    /// Throws ``SnapshotError/incompatible(_:)`` naming the first setting that differs from
    /// `config` in a way that makes this baseline meaningless there: another dimension or seed
    /// (other atoms), another sampling rate (other rates), another tick or half-life (the
    /// thresholds were calibrated for another drift measure), another packet encoding.
    public func compatibility(with config: DetectorConfig) throws(SnapshotError) {
        if dimension != config.dimension { throw .incompatible("dimension \(dimension), this detector uses \(config.dimension)") }
        if seed != config.seed { throw .incompatible("seed \(seed), this detector uses \(config.seed)") }
        if samplingRate != config.samplingRate {
            throw .incompatible("sampled 1 in \(samplingRate), this detector 1 in \(config.samplingRate)")
        }
        if tickNs != DetectorConfig.ns(config.tick) || halfLifeNs != DetectorConfig.ns(config.halfLife) {
            throw .incompatible("tick \(tickNs) ns / half-life \(halfLifeNs) ns, this detector uses \(DetectorConfig.ns(config.tick)) / \(DetectorConfig.ns(config.halfLife)) ns")
        }
        let here = Self.encodingFingerprint(config)
        if encodingFingerprint != here {
            throw .incompatible("packet encoding \(String(encodingFingerprint, radix: 16)), this build encodes \(String(here, radix: 16))")
        }
    }

    /// The fingerprint of the packet encoding under `config`: fixed packets of each shape,
    /// encoded as the detector encodes them, hashed.
    static func encodingFingerprint(_ config: DetectorConfig) -> UInt64 {
        var encoder = VectorEncoder(space: VectorSpace(dimension: config.dimension, seed: config.seed), pairCacheSlots: 64)
        var v = Hypervector(dimension: config.dimension)
        var h = FNV1a64.offsetBasis
        for f in probes {
            encoder.encode(DetectorRecord(f), into: &v)
            v.withPlanes { p in
                let words = Array(UnsafeBufferPointer(start: p, count: 2 * v.wordCount))
                let bytes = words.withUnsafeBytes { Array($0) }
                h = FNV1a64.hash(bytes[...], from: h)
            }
        }
        return h
    }

    /// A TCP SYN, a DNS response, an ICMP echo and a non-first fragment.
    static let probes: [PacketFeatures] = {
        var syn = PacketFeatures()
        syn.ipVersion = 4; syn.proto = 6; syn.srcIP = .v4(0xC633_6401); syn.dstIP = .v4(0xC633_640A)
        syn.srcPort = 51_000; syn.dstPort = 443; syn.hasTransportHeader = true; syn.tcpFlags = 2
        syn.ttl = 64; syn.df = true; syn.ipLen = 60; syn.tcpWindow = 64_240
        var dns = syn
        dns.proto = 17; dns.srcPort = 53; dns.dstPort = 40_000; dns.tcpFlags = 0; dns.tcpWindow = 0; dns.ipLen = 300; dns.df = false
        var icmp = syn
        icmp.proto = 1; icmp.srcPort = 0; icmp.dstPort = 0; icmp.tcpFlags = 0; icmp.tcpWindow = 0; icmp.icmpType = 8; icmp.ipLen = 84
        var frag = dns
        frag.hasTransportHeader = false; frag.fragOffset = 185; frag.mf = true; frag.srcPort = 0; frag.dstPort = 0; frag.ipLen = 1500
        return [syn, dns, icmp, frag]
    }()
}
