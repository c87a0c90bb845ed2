/// What the detector may be told. It is never told rates, phases or labels: only how its input is
/// sampled (so it can turn sample counts into packet rates) and how long to learn.
///
/// The statistical constants below are not tuned for a scenario: thresholds come from the spread
/// the detector measures on its own baseline, expressed in standard deviations.
public struct DetectorConfig: Sendable {
    public var dimension = 4096
    public var seed: UInt64 = 42
    /// Traffic time spent learning normal before detecting. The second half also calibrates the
    /// drift threshold.
    public var warmup: Duration = .seconds(10)
    /// Warmup also needs this many samples learned, and this many drift readings (ticks) in its
    /// calibrating half: a baseline learned from a trickle, or from traffic that stopped right
    /// after it started, says so and keeps learning instead of judging the next packets by it.
    public var minWarmupSamples = 200
    public var minCalibrationTicks = 100
    /// Half-life of the recent-traffic accumulator.
    public var halfLife: Duration = .milliseconds(250)
    /// Granularity at which decay is applied and drift evaluated (traffic time).
    public var tick: Duration = .milliseconds(10)
    /// The detector sees one packet in `samplingRate` (1 = every packet).
    public var samplingRate = 1
    /// Recent unmatched samples kept for attribution.
    public var ringCapacity = 4096
    /// Baseline packets kept to check candidate rules against.
    public var reservoirCapacity = 65_536
    /// A derived rule may match at most this share of baseline traffic.
    public var spareShare = 0.0005
    /// Drift threshold in standard deviations of the calibrated drift.
    public var openSigmas = 8.0
    /// Drift below this many standard deviations re-arms detection (hysteresis).
    public var closeSigmas = 4.0
    /// Consecutive ticks above the threshold needed to open an incident.
    public var ticksToOpen = 2
    /// Unexplained samples arriving this many times faster than the baseline's rate (over 100 ms,
    /// beyond counting noise) open an incident even when the drift is only above the close
    /// line: a flood that looks much like the site's own traffic (an ACK flood among its web
    /// clients' ACKs) moves the drift less than its rate says. Legitimate growth of a few times
    /// the rate stays below it, and what does cross is judged at attribution like any change.
    public var surgeFactor = 8.0
    /// An incident closes when its rules have seen no attack for this long.
    public var quietToClose: Duration = .seconds(1)
    /// An incident whose rules have matched at least this many samples, of which at least this
    /// share came from sources seen sending normal traffic during warmup, is a false positive:
    /// its rules are hitting real users. Its rules are released and not derived again for
    /// ``suppressReleased``. (A spoofed or botnet flood comes from sources the baseline never
    /// saw; a rule on real users' traffic drops mostly known ones.)
    public var falsePositiveMinSamples = 50
    public var falsePositiveKnownShare = 0.5
    public var suppressReleased: Duration = .seconds(600)
    /// A drift crossing nothing can be blamed for becomes an incident (detected, no rule) once it
    /// has lasted this long; one that fades sooner is only counted.
    public var unexplainedToIncident: Duration = .seconds(1)
    /// How long the data plane keeps an incident's rules after it closes (the attack stopped
    /// being seen), so an attack that pauses and resumes — a pulse, 2 s on and 3 s off — meets
    /// its rule still in place instead of passing until it is recognised. Not for a false
    /// positive's rules: they were dropping real users and go at once. The live sidecar and the
    /// offline replay (``Evaluation``) both hold by it.
    public var hold: Duration = .seconds(10)
    /// Packets per second a held rule passes: its drop becomes this rate limit (a second's
    /// burst), so the few real packets that share the attack's match get through during the
    /// hold, while a resumed flood is still cut to a trickle until it is recognised again.
    public var heldRate: UInt64 = 10
    /// Rule lifetime in the data plane; refreshed while the attack is seen.
    public var ruleTTL: Duration = .seconds(60)
    /// Rule priority given to derived rules.
    public var rulePriority: Int32 = 100
    /// When no header fields set an attack apart from normal traffic, look for bytes its
    /// payloads share (``PayloadDeriver``) and write a byte predicate instead of a rate limit.
    public var payloadRules = true
    /// Most rules one incident may derive (e.g. a reflection's first fragments and the rest).
    public var maxRulesPerIncident = 3
    /// While armed the baseline keeps learning normal traffic, half of it replaced after this
    /// much clean traffic time (nil: the baseline stays as warmup left it). Slow on purpose: an
    /// attack never gets in (it raises the drift, and what surrounds a raised drift is not
    /// learned), but neither should a change that lasts only minutes.
    public var adaptationHalfLife: Duration? = .seconds(300)
    /// Traffic is learned in epochs of this length, each only once the next one passed clean.
    public var adaptationEpoch: Duration = .seconds(1)
    /// The drift signal that opens incidents (issue 13, measured by `holon bench memory`): the
    /// cosine with the baseline, a subspace residual of the window (``SubspaceDrift``), or both.
    /// The cosine alone by default: `.both` opened 12 of 156 bench attacks a tick earlier and
    /// none later with no false incident, but its subspace is frozen at warmup, so after a
    /// learned legitimate change (growth-then-attacks) its residual stayed up, the detector kept
    /// a crossing pending, and the next attack was folded into it (reported as opened 14.9 s
    /// before the attack began; LegitimateChangeTests.attacksAfterGrowthAreStillCaught fails).
    public var driftSignal = DriftSignal.cosine
    /// Components of the residual signal's subspace.
    public var subspaceRank = 8
    /// The memory that recognises a returning attack (``AttackMemoryKind``). The rule memory by
    /// default: the engram memory recalled no faster on the bench and recalled a different
    /// attack's rules on 5 of 56 stress seeds.
    public var attackMemory = AttackMemoryKind.rules

    public init() {}

    @inlinable static func ns(_ d: Duration) -> UInt64 {
        let c = d.components
        return UInt64(c.seconds) * 1_000_000_000 + UInt64(c.attoseconds / 1_000_000_000)
    }
}
