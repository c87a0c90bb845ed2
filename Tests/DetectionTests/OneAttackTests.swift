import Detection
import Packets
import Rules
import TestSupport
import Testing
import Traffic

/// Issue 14 §5 and §4: one rule for an attack that no single fingerprint covers, and sparing
/// the sources the baseline holds steady. Small versions of the `synack-reflection` and
/// `dns-carpet` built-ins (debug builds are slow).
@Suite(.ownThread, .serialized) struct OneAttackTests {
    /// SYN-ACKs from 2,000 servers with a dozen windows, against a host whose baseline has a
    /// trickle of SYN-ACKs from many servers of its own.
    static let synAck: Scenario = {
        var normal = NormalProfile()
        normal.outboundTCP = 0.01
        return Scenario(name: "synack-small", seed: 41, normal: normal, phases: [
            ScenarioPhase(name: "baseline", duration: 12, normalRate: 2_000),
            ScenarioPhase(name: "synack-reflection", duration: 2, normalRate: 2_000,
                          attack: AttackSpec(kind: .synAckReflection, rate: 60_000, sources: .reflectors(2000))),
            ScenarioPhase(name: "recovery", duration: 4, normalRate: 2_000),
        ])
    }()

    @Test func synAckReflectionIsOneRuleOneIncident() {
        let eval = Harness.run(Self.synAck)
        let drops = eval.writtenRules.filter { $0.action != .pass }
        let incidents = Set(eval.phases.flatMap(\.incidents))
        let attack = eval.phases[1]
        #expect(eval.replay.attack_dropped_fraction >= 0.995, "dropped \(eval.replay.attack_dropped_fraction): \(attack.rules)")
        #expect(drops.count <= 2, "\(drops.map(\.text))")
        #expect(incidents.count == 1, "incidents \(eval.phases.map { ($0.name, $0.incidents) })")
        #expect(eval.phases[0].incidents.isEmpty && eval.phases[2].incidents.allSatisfy { attack.incidents.contains($0) })
        #expect(eval.replay.legit_dropped_fraction <= 0.005, "legit dropped \(eval.replay.legit_dropped_fraction)")
        // Scoped to what the attack is: SYN-ACK (not all TCP).
        #expect(drops.allSatisfy { $0.text.contains("tcp_flags") }, "\(drops.map(\.text))")
    }

    /// DNS answers from 2,000 open resolvers over a whole /24, sizes like the site's own four
    /// resolvers' answers.
    static let carpet: Scenario = {
        var normal = NormalProfile()
        normal.resolvers = 4
        return Scenario(name: "carpet-small", seed: 42, normal: normal, phases: [
            ScenarioPhase(name: "baseline", duration: 12, normalRate: 2_000),
            ScenarioPhase(name: "dns-carpet", duration: 2, normalRate: 2_000,
                          attack: AttackSpec(kind: .dnsCarpet, rate: 40_000, sources: .reflectors(2000),
                                             victim: IPPrefix("198.51.100.0/24")!)),
            ScenarioPhase(name: "recovery", duration: 4, normalRate: 2_000),
        ])
    }()

    @Test func dnsCarpetSparesTheSitesResolvers() {
        let eval = Harness.run(Self.carpet)
        let answers = Self.carpet.stream().reduce(0) { n, p in !p.isAttack && p.features.srcPort == 53 && p.features.proto == 17 ? n + 1 : n }
        let attack = eval.phases[1]
        #expect(eval.replay.attack_dropped_fraction >= 0.995, "dropped \(eval.replay.attack_dropped_fraction): \(attack.rules)")
        // Every legitimate drop counted against the resolvers' answers: an upper bound.
        #expect(Double(eval.replay.legit_dropped) <= 0.001 * Double(answers),
                "legit dropped \(eval.replay.legit_dropped) of \(answers) resolver answers: \(attack.rules)")
        let drops = eval.writtenRules.filter { $0.action != .pass }
        let passes = eval.writtenRules.filter { $0.action == .pass }
        #expect(drops.count == 1 && drops[0].text.contains("(= src_port 53)"), "\(drops.map(\.text))")
        #expect((1...4).contains(passes.count), "\(passes.map(\.text))")
        #expect(Set(eval.phases.flatMap(\.incidents)).count == 1, "\(eval.phases.map { ($0.name, $0.incidents) })")
    }
}
