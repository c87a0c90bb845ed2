import Packets
@testable import Traffic

/// A small scenario for fast tests: 2 s baseline at 2,000 pps, then `kind` at 20,000 pps.
func smallScenario(_ kind: AttackKind, seed: UInt64 = 7, sources: AttackSources? = nil) -> Scenario {
    Scenario(name: "small-\(kind)", seed: seed, phases: [
        ScenarioPhase(name: "baseline", duration: 2, normalRate: 2_000),
        ScenarioPhase(name: "attack", duration: 1, normalRate: 2_000,
                      attack: AttackSpec(kind: kind, rate: 20_000, sources: sources)),
    ])
}

func collect(_ scenario: Scenario, limit: Int = .max) -> [LabeledPacket] {
    var out: [LabeledPacket] = []
    var s = scenario.stream()
    while out.count < limit, let p = s.next() { out.append(p) }
    return out
}
