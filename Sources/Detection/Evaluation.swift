import Foundation
import Holon
import Packets
import Rules

/// A packet with the truth about it, for scoring only: the detector never sees the labels.
public struct LabeledSample: Sendable {
    public var features: PacketFeatures
    public var isAttack: Bool
    public var phase: Int

    public init(features: PacketFeatures, isAttack: Bool, phase: Int) {
        self.features = features
        self.isAttack = isAttack
        self.phase = phase
    }
}

/// Runs the live loop offline: every packet meets the rule table the detector has written so far
/// (the reference matcher, with the XDP semantics); one in N packets — dropped or not, as the
/// data plane samples — goes to the detector; rules it derives take effect from that packet on.
/// The labels are used only to score the result.
public struct Evaluation {
    public struct PhaseInfo: Sendable {
        public var name: String
        public var isAttack: Bool
        public init(name: String, isAttack: Bool) {
            self.name = name
            self.isAttack = isAttack
        }
    }

    public struct PhaseResult: Sendable, Codable {
        public var name: String
        public var is_attack: Bool
        public var packets = 0
        public var attack_packets = 0
        public var start_ns: UInt64 = 0
        public var end_ns: UInt64 = 0
        /// First incident opened during the phase, after the phase start (ms).
        public var detected_after_ms: Double?
        public var incidents: [Int] = []
        public var rules: [String] = []
        /// The same rules without provenance, for tables.
        public var short_rules: [String] = []
        public var attack_name: String?
        public var estimated_pps: Double?
        /// Attack packets per second (attack phases) or all packets per second (normal phases),
        /// measured from the packets' timestamps.
        public var true_pps: Double?
        public var distinct_sources: Int?
        public var attack_dropped = 0
        /// Legitimate packets dropped and never delivered. A SYN whose retransmission a later
        /// attempt got through (``syn-auth`` drops a client's first SYN on purpose) is delayed,
        /// not dropped: it is counted in `legit_delayed` instead.
        public var legit_dropped = 0
        /// Legitimate connection requests that got through on a retransmission (1, 2 or 4 s late).
        public var legit_delayed = 0
        /// Attack packets from the detection on, and how many of them the rules dropped.
        public var attack_after_detection = 0
        public var attack_dropped_after_detection = 0
        var detectedAt: UInt64?
        var firstTarget: UInt64 = 0
        var lastTarget: UInt64 = 0
        var targets = 0

        enum CodingKeys: String, CodingKey {
            case name, is_attack, packets, attack_packets, detected_after_ms, rules, attack_name
            case estimated_pps, true_pps, distinct_sources, attack_dropped, legit_dropped, legit_delayed, incidents
            case attack_after_detection, attack_dropped_after_detection, short_rules
        }

        /// Absent values are written as `null` (not left out), so every phase has every key.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(is_attack, forKey: .is_attack)
            try c.encode(packets, forKey: .packets)
            try c.encode(attack_packets, forKey: .attack_packets)
            try c.encode(detected_after_ms, forKey: .detected_after_ms)
            try c.encode(rules, forKey: .rules)
            try c.encode(short_rules, forKey: .short_rules)
            try c.encode(attack_name, forKey: .attack_name)
            try c.encode(estimated_pps, forKey: .estimated_pps)
            try c.encode(true_pps, forKey: .true_pps)
            try c.encode(distinct_sources, forKey: .distinct_sources)
            try c.encode(attack_dropped, forKey: .attack_dropped)
            try c.encode(legit_dropped, forKey: .legit_dropped)
            try c.encode(legit_delayed, forKey: .legit_delayed)
            try c.encode(incidents, forKey: .incidents)
            try c.encode(attack_after_detection, forKey: .attack_after_detection)
            try c.encode(attack_dropped_after_detection, forKey: .attack_dropped_after_detection)
        }
    }

    public struct Replay: Sendable, Codable {
        public var attack_packets = 0
        public var attack_dropped = 0
        /// Over attack packets from each phase's detection on: the rules' effect.
        public var attack_dropped_fraction = 0.0
        /// Over every attack packet, including those before the detection.
        public var attack_dropped_fraction_including_onset = 0.0
        public var attack_after_detection = 0
        public var attack_dropped_after_detection = 0
        public var legit_packets = 0
        public var legit_dropped = 0
        public var legit_dropped_fraction = 0.0
        public var legit_delayed = 0
    }

    public private(set) var detector: Detector
    public private(set) var phases: [PhaseResult]
    public private(set) var replay = Replay()
    /// Every rule the detector wrote, in rule-language form.
    public private(set) var writtenRules: [Rule] = []
    var table = try! RuleTable([])
    /// Rules of closed incidents the table keeps for ``DetectorConfig/hold`` (``HeldRules``).
    var held = HeldRules()
    var samplerState: UInt64
    let samplingRate: UInt64

    public init(config: DetectorConfig, phases: [PhaseInfo], samplingSeed: UInt64 = 1) {
        detector = Detector(config: config)
        self.phases = phases.map { PhaseResult(name: $0.name, is_attack: $0.isAttack) }
        samplerState = StableHash.fmix64(samplingSeed)
        samplingRate = UInt64(max(1, config.samplingRate))
    }

    /// Legitimate SYNs the filter dropped, to be sent again as a client's TCP stack does (RFC 6298:
    /// after 1 s, then 2 s, then 4 s), in due order.
    var retransmissions: [(due: UInt64, features: PacketFeatures, phase: Int, attempt: Int)] = []

    /// One packet through the data plane and, if sampled, the detector.
    public mutating func process(_ s: LabeledSample) {
        let f = s.features
        retransmitDue(upTo: f.timestamp)
        if held.expire(upTo: f.timestamp) { installRules() }
        var p = phases[s.phase]
        if p.packets == 0 { p.start_ns = f.timestamp }
        p.packets += 1
        p.end_ns = f.timestamp
        if s.isAttack { p.attack_packets += 1 }
        if !p.is_attack || s.isAttack {
            if p.targets == 0 { p.firstTarget = f.timestamp }
            p.targets += 1
            p.lastTarget = f.timestamp
        }
        let dropped = !table.classify(f).passes
        if dropped {
            if s.isAttack { p.attack_dropped += 1 } else { p.legit_dropped += 1 }
            if !s.isAttack && Self.isConnectionRequest(f) { scheduleRetransmission(f, phase: s.phase, attempt: 1) }
        } else {
            hostAnswers(f, realConnection: !s.isAttack)
        }
        if s.isAttack, let d = p.detectedAt, f.timestamp >= d {
            p.attack_after_detection += 1
            if dropped { p.attack_dropped_after_detection += 1 }
        }
        phases[s.phase] = p

        // 1-in-N sampling with a seeded generator, as the data plane's random sampler.
        samplerState = samplerState &+ 0x9E37_79B9_7F4A_7C15
        if StableHash.fmix64(samplerState) % samplingRate == 0 {
            // As the sidecar: the verdict the data plane's samples carry. A dropped sample is
            // judged, never learned as normal (a held rule's drops are the only ones the
            // detector's own rules do not explain).
            detector.ingest(f, verdict: dropped ? .dropped : .passed)
            handleEvents(at: s.phase)
        }
    }

    mutating func handleEvents(at phase: Int) {
        let events = detector.drainEvents()
        guard !events.isEmpty else { return }
        var changed = false
        for e in events {
            switch e {
            case .opened(let inc):
                phases[phase].incidents.append(inc.id)
                if phases[phase].detected_after_ms == nil {
                    phases[phase].detectedAt = inc.openedAt
                    // Signed: an attack folded into a crossing that opened before its phase began
                    // reads as negative, not as a wrapped 584-year latency.
                    phases[phase].detected_after_ms = Double(Int64(bitPattern: inc.openedAt &- phases[phase].start_ns)) / 1e6
                }
            case .rules(_, let rules):
                held.supersede(by: rules)
                for r in rules {
                    writtenRules.append(r.rule(priority: detector.config.rulePriority))
                    phases[phase].rules.append(r.rule(priority: detector.config.rulePriority).text)
                    phases[phase].short_rules.append(r.shortText)
                }
                changed = true
            case .closed(let inc):
                held.hold(inc, config: detector.config)
                changed = true
            case .calibrated, .learning:
                break
            }
        }
        if changed { installRules() }
    }

    /// Replaces the whole table at once, as the data plane does: the detector's rules in force and
    /// the held ones. Rules that stay keep their token buckets.
    mutating func installRules() {
        let rules = detector.rules.map { $0.rule(priority: detector.config.rulePriority) } + held.rules
        do {
            table = try RuleTable(rules, carryingStateFrom: table)
        } catch {
            preconditionFailure("the detector wrote an invalid rule table: \(error)")
        }
    }

    static func isConnectionRequest(_ f: PacketFeatures) -> Bool { f.isTCP && f.hasTransportHeader && f.tcpFlags & 0x12 == 0x02 }

    /// The protected host's answer to a packet the filter let through, as the filter's egress half
    /// records it (``RuleTable/observeEgress(_:)``): a SYN-ACK to a connection request (the
    /// service listens), an ACK on a connection it has. Forged mid-connection packets belong to
    /// no connection of the host's: it answers them with a reset, which records nothing. (Which
    /// packets are forged is the simulated world's fact, not something the detector is told.)
    mutating func hostAnswers(_ f: PacketFeatures, realConnection: Bool) {
        guard f.isTCP, f.hasTransportHeader, f.tcpFlags & 0x04 == 0 else { return }
        let request = Self.isConnectionRequest(f)
        guard request || realConnection else { return }
        var reply = PacketFeatures()
        reply.timestamp = f.timestamp
        reply.ipVersion = f.ipVersion
        reply.proto = f.proto
        reply.hasTransportHeader = true
        reply.srcIP = f.dstIP
        reply.dstIP = f.srcIP
        reply.srcPort = f.dstPort
        reply.dstPort = f.srcPort
        reply.tcpFlags = request ? 0x12 : 0x10
        table.observeEgress(reply)
    }

    mutating func scheduleRetransmission(_ f: PacketFeatures, phase: Int, attempt: Int) {
        let due = f.timestamp &+ (UInt64(1) << UInt64(attempt - 1)) * 1_000_000_000
        let i = retransmissions.firstIndex { $0.due > due } ?? retransmissions.endIndex
        retransmissions.insert((due, f, phase, attempt), at: i)
    }

    /// Sends the retransmissions due by `t` through the filter. One that passes turns its
    /// original drop into a delay; after the third attempt the client gives up (counted dropped).
    /// (They are not sampled for the detector: a few SYNs among the traffic.)
    mutating func retransmitDue(upTo t: UInt64) {
        while let r = retransmissions.first, r.due <= t {
            retransmissions.removeFirst()
            var g = r.features
            g.timestamp = r.due
            if table.classify(g).passes {
                phases[r.phase].legit_dropped -= 1
                phases[r.phase].legit_delayed += 1
                hostAnswers(g, realConnection: true)
            } else if r.attempt < 3 {
                scheduleRetransmission(g, phase: r.phase, attempt: r.attempt + 1)
            }
        }
    }

    /// Closes the books: rates, names, replay fractions.
    public mutating func finish() {
        retransmitDue(upTo: (phases.map(\.end_ns).max() ?? 0) &+ 8_000_000_000)
        detector.advance(to: phases.map(\.end_ns).max() ?? 0)
        handleEvents(at: phases.count - 1)
        detector.refreshEstimates()
        for i in phases.indices {
            var p = phases[i]
            if p.targets > 1, p.lastTarget > p.firstTarget {
                p.true_pps = Double(p.targets - 1) / (Double(p.lastTarget - p.firstTarget) / 1e9)
            }
            let incs = detector.incidents.filter { p.incidents.contains($0.id) }
            if p.is_attack, let inc = incs.first {
                p.estimated_pps = inc.estimatedPps
                p.distinct_sources = inc.distinctSources
                p.attack_name = inc.name
            } else if !p.is_attack, p.end_ns > p.start_ns {
                // Normal phases: the whole traffic rate as the detector would estimate it.
                p.estimated_pps = nil
            }
            phases[i] = p
            replay.attack_packets += p.attack_packets
            replay.attack_dropped += p.attack_dropped
            replay.legit_packets += p.packets - p.attack_packets
            replay.legit_dropped += p.legit_dropped
            replay.legit_delayed += p.legit_delayed
            replay.attack_after_detection += p.attack_after_detection
            replay.attack_dropped_after_detection += p.attack_dropped_after_detection
        }
        replay.attack_dropped_fraction_including_onset = replay.attack_packets == 0 ? 0 : Double(replay.attack_dropped) / Double(replay.attack_packets)
        replay.attack_dropped_fraction = replay.attack_after_detection == 0 ? 0
            : Double(replay.attack_dropped_after_detection) / Double(replay.attack_after_detection)
        replay.legit_dropped_fraction = replay.legit_packets == 0 ? 0 : Double(replay.legit_dropped) / Double(replay.legit_packets)
    }
}
