import Dataplane
import Detection
import Packets
import Rules

/// How the live loop runs.
public struct SidecarConfig: Sendable {
    /// The detector; its `samplingRate` is set from ``sampleEvery``.
    public var detector = DetectorConfig()
    /// The filter samples one packet in this many (dropped packets too).
    public var sampleEvery: UInt32 = 100
    /// Rule ids from here up belong to the sidecar; operators' rules stay below and are never
    /// touched.
    public var ruleIDBase: UInt32 = RuleOwnership.sidecarBase
    /// Where the loop takes its rules' ids: one ``RuleIDs`` shared by the loops of one run
    /// (nil: the loop's own, from ``ruleIDBase``).
    public var ruleIDs: RuleIDs?
    /// Guardrail: most rules the sidecar keeps installed at once; incidents beyond it are
    /// reported, not enforced.
    public var maxRules = 64
    /// How long a rule stays after its incident closes: the detector's ``DetectorConfig/hold``,
    /// which the offline replay holds by too.
    public var hold: Duration {
        get { detector.hold }
        set { detector.hold = newValue }
    }
    /// Packets per second a held rule passes (``DetectorConfig/heldRate``).
    public var heldRate: UInt64 {
        get { detector.heldRate }
        set { detector.heldRate = newValue }
    }
    /// Detect and derive, but leave the rule table alone: rules are reported as proposed (the
    /// filter's sampling is still set, or there would be nothing to see).
    public var dryRun = false
    /// How long the sidecar waits for a new filter when its filter is detached under it, before
    /// it stops with the reason.
    public var reattachGrace: Duration = .seconds(10)
    /// Given, the loop owns its filter's attachment (`holon run --config` attached it): when the
    /// filter's interface goes away (deleted, a driver reset, its namespace gone), the loop
    /// waits for it however long it takes and attaches the filter again in this mode as soon
    /// as it is back, rules and settings kept. nil: it waits ``reattachGrace`` for someone to
    /// attach it (`holon filter attach`), as after a detach.
    public var attachAgainAs: AttachMode?
    /// Where the loop hands copies of its samples to a capture (`GET /api/capture`); nil: none.
    public var tap: SampleTap?
    /// The networks defended (at most ``maxProtected``): samples to other destinations are not
    /// learned or judged, and a rule without a destination of its own is limited to them (one
    /// rule per prefix). Empty: every destination.
    public var protected: [IPPrefix] = []
    public static let maxProtected = 32
    /// Where what was learned is kept between runs (nil: nowhere): loaded at start when younger
    /// than ``baselineMaxAge`` (detection from the first second), saved every ``baselineSaveEvery``
    /// and at stop.
    public var baselinePath: String?
    public var baselineMaxAge: Duration = .seconds(24 * 3600)
    public var baselineSaveEvery: Duration = .seconds(60)

    public init() {}

    /// The detector as the loop runs it: rates scaled by the sampling.
    var effectiveDetector: DetectorConfig {
        var d = detector
        d.samplingRate = Int(max(1, sampleEvery))
        return d
    }
}
