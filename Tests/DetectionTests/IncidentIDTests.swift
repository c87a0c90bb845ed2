@testable import Detection
import Testing

/// An incident id names one incident. Ids were `incidents.count + 1`: a crossing forgotten
/// (never announced) while a newer incident stood — one the attack memory recalled meanwhile —
/// gave the next crossing the recalled incident's id, and the live loop, which keys rules by
/// incident, would then hold the recalled attack's rules when the other incident closed.
struct IncidentIDTests {
    @Test func aForgottenCrossingNeverLendsItsPlaceToANewIncident() {
        var d = Detector(config: DetectorConfig())
        d.open(at: 1_000, drift: 1)                                   // a crossing: incident 1, pending
        let recalled = d.reinstate([], name: "udp-flood", at: 2_000, note: "recalled")   // incident 2
        #expect(d.incidents.map(\.id) == [1, 2] && recalled == 2)
        d.forgetUnannounced(at: 0)                                    // the crossing was nothing
        d.open(at: 3_000, drift: 1)
        #expect(d.incidents.map(\.id) == [2, 3], "a new id, not the recalled incident's")
        // The newest one forgotten: its id is given again, so what a person sees has no gaps.
        d.forgetUnannounced(at: 1)
        d.open(at: 4_000, drift: 1)
        #expect(d.incidents.map(\.id) == [2, 3])
        #expect(Set(d.incidents.map(\.id)).count == d.incidents.count)
    }
}
