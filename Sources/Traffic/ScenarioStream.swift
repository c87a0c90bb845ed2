import Packets

/// One generated packet with its ground truth (for scoring only: the detector never sees it).
public struct LabeledPacket: Hashable, Sendable {
    public var features: PacketFeatures
    public var isAttack: Bool
    /// Index of the scenario phase.
    public var phase: Int
    public var attackKind: AttackKind?

    public init(features: PacketFeatures, isAttack: Bool, phase: Int, attackKind: AttackKind?) {
        self.features = features
        self.isAttack = isAttack
        self.phase = phase
        self.attackKind = attackKind
    }
}

/// The packets of a scenario in timestamp order: normal and attack arrivals interleaved, exactly
/// rate × duration of each per phase. Nothing is allocated per packet (only per phase).
public struct ScenarioStream: Sequence, IteratorProtocol {
    public let scenario: Scenario
    public let epoch: UInt64
    /// Index of the phase being generated (== phases.count at the end).
    public private(set) var phase = -1
    var normal: NormalTraffic
    var attack: AttackTraffic?
    var attackKind: AttackKind?
    var normalClock = ArrivalClock()
    var attackClock = ArrivalClock()
    var extra: ExtraGenerator?
    var extraClock = ArrivalClock()
    var extraRNG: TrafficRandom
    var nextExtra: UInt64 = .max
    var arrivalRNG: TrafficRandom
    var nextNormal: UInt64 = .max
    var nextAttack: UInt64 = .max
    let boundaries: [UInt64]

    /// `epoch` overrides the scenario's (nanoseconds since the Unix epoch).
    public init(_ scenario: Scenario, epoch: UInt64? = nil) {
        self.scenario = scenario
        self.epoch = epoch ?? scenario.epoch
        normal = NormalTraffic(profile: scenario.normal, seed: scenario.seed)
        arrivalRNG = TrafficRandom(seed: SplitMix64.mix(scenario.seed, 2))
        extraRNG = TrafficRandom(seed: SplitMix64.mix(scenario.seed, 5))
        boundaries = scenario.phaseBoundaries
    }

    mutating func enterPhase(_ k: Int) {
        phase = k
        let p = scenario.phases[k]
        let start = epoch &+ boundaries[k]
        let span = boundaries[k + 1] - boundaries[k]
        normalClock = ArrivalClock(total: p.normalPackets, start: start, span: span, model: scenario.arrivals)
        nextNormal = normalClock.next(&arrivalRNG)
        if let a = p.attack {
            var gen = AttackTraffic(spec: a, seed: scenario.seed, phase: k, protected: scenario.normal.network)
            attackClock = ArrivalClock(total: p.attackPackets, start: start, span: span, model: scenario.arrivals)
            nextAttack = attackClock.next(&gen.rng)
            attack = gen
            attackKind = a.kind
        } else {
            attack = nil
            attackKind = nil
            attackClock = ArrivalClock()
            nextAttack = .max
        }
        if let e = p.extra {
            if extra.map({ !$0.continues(e) }) ?? true {
                extra = ExtraGenerator(spec: e, seed: scenario.seed, normalClients: normal.clients,
                                       network: scenario.normal.network)
            }
            extraClock = ArrivalClock(total: p.extraPackets, start: start, span: span, model: scenario.arrivals)
            nextExtra = extraClock.next(&extraRNG)
        } else {
            extra = nil
            extraClock = ArrivalClock()
            nextExtra = .max
        }
    }

    public mutating func next() -> LabeledPacket? {
        while nextNormal == .max && nextAttack == .max && nextExtra == .max {
            guard phase + 1 < scenario.phases.count else {
                phase = scenario.phases.count
                return nil
            }
            enterPhase(phase + 1)
        }
        if nextExtra < nextNormal && nextExtra < nextAttack {
            let t = nextExtra
            nextExtra = extraClock.next(&extraRNG)
            return LabeledPacket(features: extra!.packet(at: t), isAttack: false, phase: phase, attackKind: nil)
        }
        if nextNormal <= nextAttack {
            let t = nextNormal
            nextNormal = normalClock.next(&arrivalRNG)
            return LabeledPacket(features: normal.packet(at: t), isAttack: false, phase: phase, attackKind: nil)
        }
        let t = nextAttack
        nextAttack = attackClock.next(&attack!.rng)
        return LabeledPacket(features: attack!.packet(at: t), isAttack: true, phase: phase, attackKind: attackKind)
    }
}

extension Scenario {
    /// The scenario's packets, in order.
    public func stream(epoch: UInt64? = nil) -> ScenarioStream { ScenarioStream(self, epoch: epoch) }
}
