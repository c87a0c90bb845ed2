import Foundation
import Packets

/// Observe mode: Flowspec's own (`bgp.observe`) and every filter's. While either observes,
/// nothing is announced: the network drops nothing Holon only observes.
extension FlowspecAnnouncer {
    /// Observe (log what would go) or announce, for Flowspec alone: a reload's `bgp.observe`
    /// lands here.
    public func setObserve(_ on: Bool) {
        queue.async { [self] in changeMode { policy.observe = on } }
    }

    /// A filter's own mode (`observe`, `holon filter observe`, `PUT /api/mode`): while any filter
    /// only observes, the network drops nothing either.
    public func setFilterObserving(_ on: Bool, filter: String) {
        queue.async { [self] in
            changeMode {
                if on { observingFilters.insert(filter) } else { observingFilters.remove(filter) }
            }
        }
    }

    /// Whether nothing is announced now: Flowspec's own observe, or a filter that observes.
    var observing: Bool { lock.withLock { policy.observe || !observingFilters.isEmpty } }

    /// Applies a change of mode (on `queue`). Observing from now: what is announced is
    /// withdrawn. Announcing again: the loop's rules go out as they are now.
    func changeMode(_ change: () -> Void) {
        let before = observing
        lock.withLock { change() }
        let after = observing
        if after && !before {
            for id in lock.withLock({ Array(live.keys) }).sorted() { withdrawNow(id) }
        } else if before && !after {
            batch { for id in current.keys.sorted() { announceNow(current[id]!, baseline: lastBaseline) } }
        }
    }
}

extension FlowspecAnnouncer {
    /// The sources routes must spare (a reload's allowlist): a route that now could drop one is
    /// withdrawn, a rule refused for one it no longer could is announced.
    public func setSpared(_ prefixes: [IPPrefix]) {
        queue.async { [self] in
            guard lock.withLock({ policy.spared }) != prefixes else { return }
            lock.withLock { policy.spared = prefixes }
            guard !observing else { return }
            batch { for id in current.keys.sorted() { announceNow(current[id]!, baseline: lastBaseline) } }
        }
    }
}
