import Foundation
import Generator
import Lab
import Synchronization
import Traffic

/// The lab's traffic for the API: built-in scenarios sent by the generator library from the
/// lab's generator side (as `holon generate --builtin NAME` does), one stretch per call.
public final class LabTrafficSender: LabTrafficSource {
    let lab: Lab
    /// Plans by scenario and rate: building one samples thousands of packets per phase, once.
    private let plans = Mutex<[String: TrafficPlan]>([:])

    public init(lab: Lab = Lab()) { self.lab = lab }

    public func labProblem() -> String? {
        let s = lab.status()
        guard s.isUp else { return "the lab is not up (holon lab up): lab traffic is generated in \(lab.topology.generatorNamespace) only" }
        guard geteuid() == 0 else { return "generating lab traffic needs root" }
        return nil
    }

    public var scenarios: [String] { Scenario.builtIn.map(\.name) }

    public func length(of scenario: String) -> Double? { Scenario.named(scenario)?.duration }

    /// Why a stretch ended early.
    struct Interrupted: Error, CustomStringConvertible { var description: String }

    public func send(scenario: String, pps: Double?, offset: Double, seconds: Double) throws -> UInt64 {
        guard let s = Scenario.named(scenario) else { throw GeneratorError.unknownScenario(scenario) }
        // The generator's early stop is the process-wide flag: set, holon run is stopping, and
        // every stretch would end at once. A lab taken down mid-run is refused here, before
        // its sends fail: the generator gives up on failing sends by setting that same flag,
        // which would stop holon run too.
        guard !GeneratorStop.requested else { throw Interrupted(description: "interrupted: holon is stopping") }
        if let problem = labProblem() { throw Interrupted(description: problem) }
        let key = "\(scenario)@\(pps.map { "\($0)" } ?? "own")"
        let whole = plans.withLock { cached in
            if let p = cached[key] { return p }
            let p = TrafficPlan.scenario(s, pps: pps)
            cached[key] = p
            return p
        }
        let t = lab.topology
        var options = GeneratorOptions(interface: t.generatorInterface, namespace: t.generatorNamespace,
                                       peer: t.filterAddress.split(separator: "/").first.map(String.init))
        // The socket engine while it carries the rate: the auto choice would probe every engine
        // on every stretch. Unpinned: the sender shares the cores with holon run's loops.
        let top = whole.phases.compactMap(\.pps).max() ?? 0
        if top <= EngineKind.socketEngineRate { options.engine = .sendmmsg }
        options.pinThreads = false
        let report = try TrafficGenerator(plan: Self.stretch(of: whole, from: offset, seconds: seconds), options: options).run()
        if report.interrupted { throw Interrupted(description: "interrupted after \(report.sent) packets: holon is stopping, or the sends failed") }
        return report.sent
    }

    /// The part of `plan` from `offset` for `seconds`: the phases it overlaps, cut to it.
    static func stretch(of plan: TrafficPlan, from offset: Double, seconds: Double) -> TrafficPlan {
        var phases: [PhasePlan] = []
        var start = 0.0
        let end = offset + seconds
        for p in plan.phases {
            let from = max(start, offset), to = min(start + p.duration, end)
            if to - from > 1e-9 { phases.append(PhasePlan(name: p.name, duration: to - from, pps: p.pps, packets: p.packets)) }
            start += p.duration
        }
        return TrafficPlan(name: plan.name, phases: phases)
    }
}
