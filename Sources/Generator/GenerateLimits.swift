import CGeneratorShim
import Foundation
import Traffic

/// The ranges `holon generate` accepts, checked before anything is touched. Out of range, a
/// value either traps (a Double too big for the integer it becomes: a rate or a duration in
/// nanoseconds), hangs (more sender threads than the machine can start) or quietly turns into
/// "as fast as possible" (a rate no engine approaches): each check names the option, the value
/// and the range in one line.
public enum GenerateLimits {
    /// Packets per second: above what the fastest engine approaches (~tens of Mpps) a target
    /// means nothing, and the pacing arithmetic needs rate × seconds to fit an integer.
    public static let maxPPS = 100_000_000.0
    /// Seconds of a run (the sum of a scenario's phases): phase boundaries are kept in
    /// nanoseconds as UInt64, and a day is far beyond any test.
    public static let maxDuration = 86_400.0
    /// Most copies of one frame per BPF_PROG_RUN call (the kernel takes an Int32; past ~1 M one
    /// call holds the CPU for tens of milliseconds without a stop check).
    public static let maxXDPRepeat = 1 << 20

    /// Sender threads: a thread per core is what the engines use; a few times that still
    /// shares the rate sensibly, thousands never all start.
    public static func maxThreads(cpus: Int = Int(hg_online_cpus())) -> Int { 4 * max(1, cpus) }

    /// `--pps`: a rate, or nil for 'max' / 'unlimited'.
    public static func pps(_ text: String) throws(GeneratorError) -> Double? {
        if text == "max" || text == "unlimited" { return nil }
        guard let v = Double(text), v.isFinite, v > 0, v <= maxPPS else {
            throw .badArgument("--pps must be > 0 and ≤ \(grouped(maxPPS)) packets per second, or 'max'; got '\(text)'")
        }
        return v
    }

    public static func duration(_ seconds: Double) throws(GeneratorError) -> Double {
        guard seconds.isFinite, seconds > 0, seconds <= maxDuration else {
            throw .badArgument("--duration must be > 0 and ≤ \(grouped(maxDuration)) seconds; got \(number(seconds))")
        }
        return seconds
    }

    public static func threads(_ n: Int, cpus: Int = Int(hg_online_cpus())) throws(GeneratorError) -> Int {
        let most = maxThreads(cpus: cpus)
        guard n >= 1, n <= most else {
            throw .badArgument("--threads must be 1…\(most) (4 per CPU, \(cpus) CPU(s)); got \(n)")
        }
        return n
    }

    public static func xdpRepeat(_ n: Int) throws(GeneratorError) -> Int {
        guard n >= 1, n <= maxXDPRepeat else {
            throw .badArgument("--xdp-repeat must be 1…\(maxXDPRepeat); got \(n)")
        }
        return n
    }

    /// A scenario's own rates and length (a file may say anything its decoder lets through),
    /// before a plan is built from it.
    public static func check(_ scenario: Scenario) throws(GeneratorError) {
        var total = 0.0
        for p in scenario.phases {
            let rate = p.normalRate + (p.attack?.rate ?? 0)
            guard rate <= maxPPS else {
                throw .badArgument("scenario '\(scenario.name)' phase '\(p.name)' asks for \(number(rate)) packets per second; at most \(grouped(maxPPS)) (or give --pps)")
            }
            total += p.duration
        }
        guard total <= maxDuration else {
            throw .badArgument("scenario '\(scenario.name)' lasts \(number(total)) seconds; at most \(grouped(maxDuration))")
        }
    }

    /// The plan as the generator will run it: every phase's rate and the total length in range.
    public static func check(_ plan: TrafficPlan) throws(GeneratorError) {
        for p in plan.phases {
            if let r = p.pps, !(r.isFinite && r >= 0 && r <= maxPPS) {
                throw .badArgument("phase '\(p.name)' rate \(number(r)) pps is outside 0…\(grouped(maxPPS))")
            }
            guard p.duration.isFinite, p.duration >= 0 else {
                throw .badArgument("phase '\(p.name)' duration \(number(p.duration)) s is not a length of time")
            }
        }
        guard plan.duration <= maxDuration else {
            throw .badArgument("plan '\(plan.name)' lasts \(number(plan.duration)) seconds; at most \(grouped(maxDuration))")
        }
    }

    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)" }
    static func grouped(_ v: Double) -> String {
        let s = String(Int64(v))
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}
