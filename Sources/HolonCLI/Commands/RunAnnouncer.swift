import Config
import ControlPlane
import Flowspec
import Foundation
import Packets
import Rules
import Sidecar

extension RunCommand {
    /// The speaker `holon run --bgp` announces through, checked to answer now: an unreachable
    /// gobgpd or an unwritable ExaBGP feed refuses the run before any filter is touched.
    static func speaker(_ bgp: HolonConfig.BGP) throws -> any FlowspecSpeaker {
        if let feed = bgp.exabgpFeed {
            let exabgp = ExaBGPFeed(path: feed)
            do { try exabgp.check() } catch { throw InputError("holon run --bgp: \(error.description)") }
            return exabgp
        }
        let gobgp = GoBGPClient(host: bgp.gobgpHost, port: bgp.gobgpPort)
        do { try gobgp.check() } catch { throw InputError("holon run --bgp: \(error.description) (is gobgpd running with its API on \(bgp.gobgpHost):\(bgp.gobgpPort)?)") }
        return gobgp
    }

    /// The Flowspec announcer: each rule's fate reported as an event and kept for
    /// `/api/announcements`.
    /// `filters`: the names the loops' events come with, whose filters start in the
    /// configuration's mode; `keeping`: the ids of the rules in them, whose routes an earlier
    /// run left announced may stay (the rest of those are withdrawn).
    /// `tables`: the filters' tables as they are now, whose pass rules a route must respect.
    static func announcer(_ speaker: any FlowspecSpeaker, _ config: HolonConfig, filters: [String], keeping: Set<UInt32>,
                          control: ControlState, tables: [any FilterSource], _ say: @escaping @Sendable (SidecarEvent) -> Void) -> FlowspecAnnouncer {
        let bgp = config.bgp ?? HolonConfig.BGP()
        let policy = AnnouncePolicy(protected: config.protected, maxAnnounced: bgp.maxAnnounced,
                                    observe: bgp.observe, packetBytes: bgp.packetBytes, spared: sparedSources(config))
        let endpoint = bgp.exabgpFeed.map { "exabgp-" + $0 } ?? "gobgp-\(bgp.gobgpHost)-\(bgp.gobgpPort)"
        let announcer = FlowspecAnnouncer(speaker: speaker, policy: policy, report: { a in
            let widened = a.widened.isEmpty ? "" : " (widened: dropped \(a.widened.joined(separator: " ")))"
            let timing = a.milliseconds.map { String(format: " in %.1f ms", $0) } ?? ""
            say(.notice(kind: "flowspec-\(a.state.rawValue)", message: "rule \(a.ruleID): \(a.detail)\(widened)\(timing)"))
        }, ledger: AnnouncedLedger(path: AnnouncedLedger.path(for: endpoint)), warn: { say(.notice(kind: "flowspec-warning", message: $0)) },
           hostPasses: { () -> [Rule]? in
            var passes: [Rule] = []
            for t in tables {
                guard let rules = try? t.verifiedTable() else { return nil }
                passes += rules.filter { $0.action == .pass }
            }
            return passes
        })
        control.follow { announcer.announcements }
        announcer.inherit(keeping: keeping)
        for f in filters { announcer.setFilterObserving(config.observe, filter: f) }
        return announcer
    }
}

/// The sources Flowspec routes must spare under `config`: its allowlist, unless
/// `bgp.spare_allowlist` is off.
func sparedSources(_ config: HolonConfig) -> [IPPrefix] {
    (config.bgp?.spareAllowlist ?? true) ? config.allowlist : []
}

extension FlowspecAnnouncer {
    /// The live loop's rule changes, as they happen.
    /// `filter`: the name of the loop whose event it is.
    func follow(_ event: SidecarEvent, filter: String, baseline: [PacketFeatures]?) {
        switch event {
        case .installed(_, let rules, _), .adopted(let rules), .changed(let rules, _): announce(rules, baseline: baseline)
        case .removed(let ids, _): withdraw(ids)
        case .filterMode(let observe): setFilterObserving(observe, filter: filter)
        case .heartbeat: reconcileIfDue()
        default: break
        }
    }
}

/// A reference filled in after the closure that reads it is made.
final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    var value: T? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
