import Detection
import Packets
import Rules
import Testing
import Traffic

/// Issue 14 §1 end to end in the detector: a SYN flood at 20× the normal rate to one web server's
/// port, every header it could be told by random per packet (source, source port, TTL, IP ID, DF,
/// window), is met with `(syn-auth)` at the victim's address and port, not a shared rate limit;
/// an ACK flood so randomized with `(flow-check)`.
@Suite(.ownThread) struct RandomizedFloodTests {
    @Test(arguments: [(AttackKind.synFlood, Action.synAuth), (.ackFlood, .flowCheck)])
    func aTCPFloodNoHeaderSeparatesIsAuthenticated(kind: AttackKind, action: Action) {
        let base = 2_000.0
        let scenario = Scenario(name: "syn-random", seed: 141, phases: [
            ScenarioPhase(name: "baseline", duration: 12, normalRate: base),
            ScenarioPhase(name: "flood", duration: 1.5, normalRate: base,
                          attack: AttackSpec(kind: kind, rate: 20 * base, victim: IPPrefix("198.51.100.10")!)),
        ])
        var config = DetectorConfig()
        config.samplingRate = 4
        config.warmup = .seconds(10)
        var eval = Evaluation(config: config, phases: scenario.phases.map { .init(name: $0.name, isAttack: $0.attack != nil) },
                              samplingSeed: scenario.seed)
        var rng = SplitMix64(seed: 14)
        for p in scenario.stream() {
            var f = p.features
            if p.isAttack {
                // What a randomizing flooder varies; what stays is the attack's target.
                f.srcIP = .v4(UInt32(truncatingIfNeeded: rng.next()))
                f.srcPort = UInt16(1024 + rng.next() % 64512)
                f.ttl = UInt8(32 + rng.next() % 224)
                f.ipID = UInt32(rng.next() & 0xFFFF)
                f.df = rng.next() & 1 == 1
                f.tcpWindow = UInt16(truncatingIfNeeded: rng.next())
                f.dstPort = 443
            }
            eval.process(LabeledSample(features: f, isAttack: p.isAttack, phase: p.phase))
        }
        eval.finish()
        let texts = eval.writtenRules.map(\.text)
        #expect(eval.writtenRules.contains { $0.action == action }, "\(texts)")
        for r in eval.writtenRules where r.action == action {
            #expect(r.text.contains("(= dst_ip 198.51.100.10)") && r.text.contains("(= dst_port 443)"), "\(r.text)")
        }
        #expect(!eval.writtenRules.contains { if case .rateLimit = $0.action { return true } else { return false } }, "\(texts)")
    }
}
