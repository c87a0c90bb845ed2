import Dataplane
import Foundation
import Sidecar
import Testing

/// An interface deleted and created again under `holon run --config` (a driver reset, a VLAN
/// or a VM's NIC recreated): its filter's link went with it, the maps stayed pinned, and the
/// loop waited 10 s for someone to attach a new filter, then stopped with exit 1, losing what
/// it held in memory; without systemd the interface came back unprotected, and with it the
/// unit failed on the missing interface every 2 s until then. The daemon now waits however
/// long it takes and attaches the filter again itself; a run that did not attach it waits and
/// says how. The root suite (`RestartTests`) does it with a real interface, and a detach the
/// daemon must not undo.
@Suite("Sidecar when its interface goes away (no root)", .ownThread)
struct InterfaceGoneTests {
    let epoch: UInt64 = 1_800_000_000_000_000_000

    /// Runs the loop over 100 ms steps of the filter's clock until `end` seconds; `gone` says,
    /// at each time, whether the interface is missing (from `goneAt` s on).
    func run(_ config: SidecarConfig, goneAt: Double, backAt: Double?, end: Double) -> (events: [SidecarEvent], error: (any Error)?, filter: ReferenceFilter) {
        let filter = ReferenceFilter(startingAt: epoch)
        let s = { (t: Double) in UInt64(t * 1e9) }
        filter.onPoll = { f in
            let t = f.now() &+ 100_000_000
            if t - epoch >= s(goneAt) && !f.detached && f.attachedAgainAs == nil {
                f.detached = true
                f.interfaceGone = true
            }
            if let backAt, t - epoch >= s(backAt) { f.interfaceGone = false }
            f.advance(to: t)
        }
        var events: [SidecarEvent] = []
        var error: (any Error)?
        let sidecar = Sidecar(dataplane: filter, config: config)
        do { try sidecar.run(until: { filter.now() - epoch >= s(end) }) { events.append($0) } } catch let e { error = e }
        return (events, error, filter)
    }

    func notices(_ events: [SidecarEvent], _ kind: String) -> [String] {
        events.compactMap { if case .notice(let k, let m) = $0, k == kind { m } else { nil } }
    }

    @Test func theDaemonAttachesItAgainWhenItIsBackHoweverLongItTook() throws {
        var config = SidecarConfig()
        config.attachAgainAs = .native
        config.reattachGrace = .seconds(1)
        // Gone at 2 s, back at 75 s: far past the grace, with a reminder at the minute.
        let r = run(config, goneAt: 2, backAt: 75, end: 77)
        #expect(r.error == nil, "\(String(describing: r.error))")
        let lost = notices(r.events, "filter-lost")
        #expect(lost.first?.contains("went away") == true && lost.first?.contains("attached again, rules kept, as soon as it is back") == true, "\(lost)")
        #expect(lost.count == 2 && lost[1].contains("still gone after 6"), "a reminder a minute on: \(lost)")
        let back = notices(r.events, "filter-reattached")
        #expect(back.count == 1 && back[0].contains("is back: its filter is attached again (native XDP)"), "\(back)")
        #expect(r.filter.attachedAgainAs == .native && !r.filter.detached)
        // Alive, and saying that nothing is enforced: the loop beat on through the outage (it
        // was silent for all of it, and a monitor took it for dead).
        let beats = r.events.compactMap { if case .heartbeat(let s) = $0 { s } else { nil } }
        let unattached = beats.filter { !$0.filterAttached }.count
        #expect(unattached >= 70 && unattached <= 74, "a heartbeat a second while gone, 73 s: \(unattached)")
        #expect(beats.last?.filterAttached == true && beats.count >= 75, "\(beats.count) heartbeats in 77 s")
        #expect(beats.first { !$0.filterAttached }.map { SidecarEvent.heartbeat($0).text.contains("NOTHING ENFORCED") } == true)
    }

    /// Not the daemon's to attach (`holon run` on a filter attached by hand): it says the
    /// interface went and what to run, waits the grace, then stops naming why.
    @Test func aRunThatDidNotAttachItWaitsTheGraceAndSaysWhy() {
        var config = SidecarConfig()
        config.reattachGrace = .seconds(3)
        let r = run(config, goneAt: 2, backAt: 4, end: 30)
        let lost = notices(r.events, "filter-lost")
        #expect(lost.count == 1 && lost[0].contains("`holon filter attach` attaches the filter again"), "\(lost)")
        #expect("\(String(describing: r.error))".contains("its interface went away, and the filter was not attached again within"), "\(String(describing: r.error))")
        #expect(r.filter.attachedAgainAs == nil)
    }
}
