import Flowspec
import Foundation
import Packets
import Rules

/// `holon bench loop --bgp`: Holon's gobgpd and an edge router's, the announcer between the
/// loop and the first, and a watcher of the router's RIB that notes when each route arrives.
final class BenchRouter: @unchecked Sendable {
    let pair: GoBGPPair
    let announcer: FlowspecAnnouncer
    private let router: GoBGPClient
    private let lock = NSLock()
    /// Each route's NLRI bytes → wall-clock ns it was first seen at the router.
    private var seen: [[UInt8]: UInt64] = [:]
    private var watching = true
    private var watcher: Thread?

    init() throws {
        guard GoBGPPair.available else { throw InputError("holon bench loop --bgp: needs gobgpd and gobgp (Debian package gobgpd; scripts/setup installs it)") }
        pair = try GoBGPPair()
        guard pair.established() else {
            pair.stop()
            throw InputError("holon bench loop --bgp: the bench's two gobgpd did not peer within 45 s")
        }
        router = GoBGPClient(port: pair.routerAPI)
        announcer = FlowspecAnnouncer(speaker: GoBGPClient(port: pair.speakerAPI),
                                      policy: AnnouncePolicy(protected: [IPPrefix("198.51.100.0/24")!], maxAnnounced: 64))
        let t = Thread { [self] in
            while lock.withLock({ watching }) {
                let now = UInt64(Date().timeIntervalSince1970 * 1e9)
                for r in (try? router.rib(.ipv4)) ?? [] {
                    guard let key = try? FlowspecNLRI.encode(r) else { continue }
                    lock.withLock { if seen[key] == nil { seen[key] = now } }
                }
                usleep(20_000)
            }
        }
        watcher = t
        t.start()
    }

    /// When `rule`'s route reached the router (nil: never, or not announceable).
    func seenAt(_ rule: Rule) -> UInt64? {
        let a = announcer.announcements.first { $0.ruleID == rule.id }
        guard a?.state == .announced || a?.state == .withdrawn,
              let fs = FlowspecTranslator(packetBytes: 1500).translate(rule, baseline: []).rule,
              let key = try? FlowspecNLRI.encode(fs) else { return nil }
        return lock.withLock { seen[key] }
    }

    func stop() {
        lock.withLock { watching = false }
        while watcher?.isFinished == false { usleep(10_000) }
        pair.stop()
    }
}
