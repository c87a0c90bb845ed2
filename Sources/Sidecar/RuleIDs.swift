import Rules
import Synchronization

/// The ids the live loop gives its rules: each above every sidecar-range id the table already
/// holds, and handed out once.
///
/// The loops of one `holon run` (one per interface) share one, so an id names one rule across
/// the run: the API's release and pin, the metrics' series and the Flowspec announcer all take
/// a rule by its id. A pinned rule keeps its id in the table while it is no longer the loop's
/// (not adopted): ids start above it too, or the next incident's rule would take its id and the
/// table refuse the incident.
public final class RuleIDs: Sendable {
    /// The last id handed out or reserved.
    private let last: Mutex<UInt32>
    public let base: UInt32

    public init(base: UInt32 = RuleOwnership.sidecarBase) {
        self.base = base
        // The first id is base + 1, as it always was (the base itself stays unused).
        last = Mutex(base)
    }

    /// Ids handed out from now on are above every id of `rules` from ``base`` up.
    public func reserve(above rules: [Rule]) {
        var highest: UInt32?
        for r in rules where r.id >= base { highest = max(highest ?? r.id, r.id) }
        guard let highest else { return }
        last.withLock { $0 = max($0, highest) }
    }

    /// A fresh id. 3.29 billion of them before the range ends: a rule a millisecond for a month.
    public func next() -> UInt32 {
        last.withLock { id in
            id &+= 1
            return id
        }
    }
}
