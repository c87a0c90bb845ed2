import Foundation
import Packets
import Traffic

/// Attacks mixed into a baseline run (issue 15): a DNS reflection, a SYN flood and an ACK flood
/// at the site's address (the floods at its web ports, 80 and 443), one after the other, each
/// sent by `holon generate` from the people's side of the lab while they keep browsing. What
/// is measured for each: when the loop opened an incident and installed a rule after the attack
/// began, and how many of the people's page loads failed while it lasted.
public struct AttackMix: Sendable {
    public struct Attack: Sendable {
        public var kind: AttackKind
        public var rate: Double
        /// Seconds after the mix starts.
        public var offset: Double
        public var duration: Double
    }

    public var attacks: [Attack]

    /// Three attacks of `duration` seconds, `gap` seconds apart, at `rate` packets per second.
    public static func standard(rate: Double = 20_000, duration: Double = 20, gap: Double = 25) -> AttackMix {
        let kinds: [AttackKind] = [.dnsReflection, .synFlood, .ackFlood]
        return AttackMix(attacks: kinds.enumerated().map { i, k in
            Attack(kind: k, rate: rate, offset: Double(i) * (duration + gap), duration: duration)
        })
    }

    /// Seconds from the first attack's start to the last one's end.
    public var span: Double { attacks.map { $0.offset + $0.duration }.max() ?? 0 }

    /// When one attack was really sent (wall clock, seconds since 1970), and what the sender said.
    public struct Sent: Sendable {
        public var attack: Attack
        /// When its first packet left, by the sender's own report; the launch time when the
        /// sender never reported (it failed). Detection is timed from here: `holon generate`
        /// takes a few hundred milliseconds to start and synthesise its frames on a machine the
        /// browsers keep busy, and no packet was on the wire then.
        public var start: Double
        /// When `holon generate` was launched.
        public var launched: Double
        public var end: Double
        public var failure: String?
    }

    /// `startedAtNs` of `holon generate --json`'s report: the one JSON line of its output.
    static func firstPacketTime(_ output: String) -> Double? {
        struct Report: Decodable { let startedAtNs: UInt64 }
        guard let line = output.split(whereSeparator: \.isNewline).last(where: { $0.hasPrefix("{") }),
              let r = try? JSONDecoder().decode(Report.self, from: Data(line.utf8)), r.startedAtNs > 0 else { return nil }
        return Double(r.startedAtNs) / 1e9
    }

    /// Sends the attacks on a thread of its own, starting `delay` seconds from now; `done` gets
    /// what was sent once the last one ends (or fails).
    public func start(holon: String, layout: BaselineLayout, after delay: Double,
                      stop: @escaping @Sendable () -> Bool, done: @escaping @Sendable ([Sent]) -> Void) {
        let t0 = Date().timeIntervalSince1970 + delay
        let victim = IPPrefix(ipv4Block: layout.siteAddress)!
        let attacks = self.attacks
        Thread {
            var sent: [Sent] = []
            for (i, a) in attacks.enumerated() {
                while Date().timeIntervalSince1970 < t0 + a.offset {
                    if stop() { done(sent); return }
                    usleep(100_000)
                }
                let scenario = Scenario(name: "baseline-mix-\(a.kind.rawValue)", seed: 15 + UInt64(i), phases: [
                    ScenarioPhase(name: a.kind.rawValue, duration: a.duration, normalRate: 0,
                                  attack: AttackSpec(kind: a.kind, rate: a.rate, victim: victim)),
                ])
                let file = layout.run + "/attack-\(getpid())-\(i).json"
                let launched = Date().timeIntervalSince1970
                var start: Double?
                var failure: String?
                do {
                    try JSONEncoder().encode(scenario).write(to: URL(fileURLWithPath: file), options: .atomic)
                    defer { try? FileManager.default.removeItem(atPath: file) }
                    let out = try Command.run(holon, ["generate", "--interface", layout.topology.generatorInterface,
                                                      "--netns", layout.topology.generatorNamespace, "--scenario", file, "--json"])
                    start = Self.firstPacketTime(out.output)
                    if start == nil { failure = "holon generate printed no report: \(out.output.suffix(300))" }
                } catch {
                    failure = "\(error)"
                }
                sent.append(Sent(attack: a, start: start ?? launched, launched: launched, end: Date().timeIntervalSince1970,
                                 failure: failure))
            }
            done(sent)
        }.start()
    }
}
