import Dataplane
import Sidecar

extension SidecarStats {
    /// The counters of several loops (one per interface) as one: counts and rates add up, and
    /// the detector is warmed up when every loop's is. No loop yet: all zero.
    static func sum(_ all: [SidecarStats]) -> SidecarStats {
        if all.count == 1 { return all[0] }
        var t = SidecarStats()
        t.warmedUp = !all.isEmpty && all.allSatisfy(\.warmedUp)
        t.filterAttached = all.allSatisfy(\.filterAttached)
        for s in all {
            t.samples += s.samples
            t.stale += s.stale
            t.unparsed += s.unparsed
            t.skippedDuringWarmup += s.skippedDuringWarmup
            t.incidents += s.incidents
            t.unexplainedCrossings += s.unexplainedCrossings
            t.outsideProtected += s.outsideProtected
            t.openIncidents += s.openIncidents
            t.falsePositives += s.falsePositives
            t.rulesInstalled += s.rulesInstalled
            t.filterPackets &+= s.filterPackets
            t.filterDropped &+= s.filterDropped
            t.filterPps += s.filterPps
            t.filterDropPps += s.filterDropPps
            t.ringFull &+= s.ringFull
        }
        return t
    }
}

extension DataplaneStats {
    /// The counters of several filters (one per interface) as one.
    static func sum(_ all: [DataplaneStats]) -> DataplaneStats {
        var t = DataplaneStats()
        for s in all { t += s }
        return t
    }
}
