import Packets
import Testing
@testable import Traffic

@Suite struct StreamTests {
    @Test func sameSeedSamePackets() {
        let a = collect(.mixed, limit: 200_000)
        let b = collect(.mixed, limit: 200_000)
        #expect(a == b)
        let c = collect(Scenario.mixed.withSeed(99), limit: 200_000)
        #expect(a != c)
        #expect(zip(a, c).filter { $0.features == $1.features }.count < 10)
    }

    @Test func attackDoesNotChangeNormalTraffic() {
        var calm = smallScenario(.synFlood)
        calm.phases[1].attack = nil
        let withAttack = collect(smallScenario(.synFlood)).filter { !$0.isAttack }.map(\.features)
        let without = collect(calm).map(\.features)
        #expect(withAttack == without)
    }

    @Test func defaultScenarioRatesAndOrder() {
        let scenario = Scenario.default
        let n = scenario.phases.count
        var normal = [Int](repeating: 0, count: n), attack = [Int](repeating: 0, count: n)
        var first = [UInt64](repeating: .max, count: n), last = [UInt64](repeating: 0, count: n)
        var previous: UInt64 = 0
        var ordered = true, labelsAgree = true
        let bounds = scenario.phaseBoundaries.map { $0 + scenario.epoch }
        var inPhase = true
        for p in scenario.stream() {
            let t = p.features.timestamp
            if t < previous { ordered = false }
            previous = t
            if t < bounds[p.phase] || t >= bounds[p.phase + 1] { inPhase = false }
            if p.isAttack { attack[p.phase] += 1 } else { normal[p.phase] += 1 }
            if p.isAttack != (p.attackKind != nil) || (p.isAttack && p.attackKind != scenario.phases[p.phase].attack?.kind) {
                labelsAgree = false
            }
            first[p.phase] = min(first[p.phase], t)
            last[p.phase] = max(last[p.phase], t)
        }
        #expect(ordered)
        #expect(inPhase)
        #expect(labelsAgree)
        #expect(normal.reduce(0, +) + attack.reduce(0, +) == scenario.totalPackets)
        for (k, phase) in scenario.phases.enumerated() {
            let measured = Double(normal[k] + attack[k] - 1) / (Double(last[k] - first[k]) / 1e9)
            let configured = phase.normalRate + (phase.attack?.rate ?? 0)
            #expect(abs(measured / configured - 1) < 0.01, "phase \(phase.name): \(measured) vs \(configured)")
            #expect(abs(Double(normal[k]) / phase.duration / phase.normalRate - 1) < 0.01)
            if let a = phase.attack {
                #expect(abs(Double(attack[k]) / phase.duration / a.rate - 1) < 0.01)
            }
            print("phase \(k) \(phase.name): \(phase.duration) s, normal \(normal[k]), attack \(attack[k]), measured \(Int(measured)) pps")
        }
        print("default scenario: \(scenario.totalPackets) packets over \(scenario.duration) s")
    }

    @Test(arguments: ArrivalModel.allCases)
    func measuredRatePerSecond(model: ArrivalModel) {
        // Even second by second the rate holds: jittered to the packet, Poisson to a few sigma.
        var s = Scenario(name: "r", seed: 3, arrivals: model, phases: [ScenarioPhase(name: "p", duration: 10, normalRate: 20_000)])
        s.epoch = 0
        var perSecond = [Int](repeating: 0, count: 10)
        for p in s.stream() { perSecond[Int(p.features.timestamp / 1_000_000_000)] += 1 }
        #expect(perSecond.reduce(0, +) == 200_000)
        for c in perSecond { #expect(abs(Double(c) - 20_000) < (model == .jittered ? 2 : 800)) }
    }

    @Test func customEpoch() {
        var s = Scenario.default.stream(epoch: 42_000_000_000)
        let p = s.next()!
        #expect(p.features.timestamp >= 42_000_000_000 && p.features.timestamp < 43_000_000_000)
    }
}
