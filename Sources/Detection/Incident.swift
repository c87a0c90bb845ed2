import Holon
import Packets

/// A rule the detector wrote, in the detector's terms; ``RuleExport`` turns it into a `Rules.Rule`.
public struct DetectedRule: Sendable, Equatable, CustomStringConvertible {
    public let id: UInt32
    /// Canonical predicate text, e.g. `proto=17`, `src_ip in 10.1.0.0/16`.
    public var predicateText: [String] { predicates.map(\.description) }
    /// nil = drop; otherwise the packets per second normal traffic needs.
    public let rateLimitPps: UInt64?
    public internal(set) var derivedAt: UInt64
    public let explanation: String
    let predicates: [Candidate]
    let baselineShare: Double
    /// Set when no header separates the attack from users (``ActionChoice``): authenticate
    /// connections instead of the rate limit; then the action, `rateLimitPps` nil.
    public internal(set) var authentication: ConnectionCheck? = nil
    /// Sources this rule spares (``SparedSources``): the packets of theirs it matches are let
    /// through by its ``exceptions``, so the detector does not count them as the attack's.
    var spared: Set<IPAddress> = []
    /// A `pass` rule: the exception for one spared source, above the rule it carves from.
    public internal(set) var passes = false
    /// The pass rules of the sources this rule spares; each is installed with it, one priority
    /// above (``Detector/rules`` lists them after it).
    public internal(set) var exceptions: [DetectedRule] = []

    /// Exactly the semantics the table gives it with its exceptions, for the detector's own
    /// bookkeeping. (The source lookup runs only once every predicate matched, and only for a
    /// rule that spares someone.)
    @inline(__always) func matches(_ f: PacketFeatures) -> Bool {
        for p in predicates where !p.matches(f) { return false }
        return spared.isEmpty || !spared.contains(f.srcIP)
    }

    /// The rule and its exceptions, as installed.
    var installed: [DetectedRule] { [self] + exceptions }

    public var description: String {
        predicateText.joined(separator: " AND ") + " -> "
            + (passes ? "pass" : authentication?.action.keyword ?? rateLimitPps.map { "rate-limit \($0)pps" } ?? "drop")
    }
}

/// One attack, from the drift that opened it to the quiet that closed it.
public struct Incident: Sendable {
    public let id: Int
    /// Traffic time (ns) the drift crossed the threshold.
    public let openedAt: UInt64
    public internal(set) var closedAt: UInt64?
    public internal(set) var rules: [DetectedRule] = []
    /// Label from the prototype codebook; the rules never depend on it.
    public internal(set) var name: String = "unknown"
    public internal(set) var drift: Double
    /// Packets per second matching the incident's rules, measured from sample timestamps,
    /// corrected for sampling, and carried through a log-scalar vector (decoded value).
    public internal(set) var estimatedPps: Double?
    /// Distinct source addresses among the matching samples (HyperLogLog).
    public var distinctSources: Int { sources.count }

    /// Why the incident was judged a false positive (its rules were hitting real users), nil
    /// when it was not.
    public internal(set) var falsePositive: String?

    /// Of the samples its rules matched, the share from sources seen in normal traffic: near 0
    /// for a spoofed flood or a botnet, high when the rules hit real users. nil before a match.
    public var knownSourceShare: Double? {
        matchedSamples > 0 ? Double(knownSourceSamples) / Double(matchedSamples) : nil
    }

    /// Whether `.opened` was reported: a crossing becomes an incident when rules are derived for
    /// it or it stays abnormal for ``DetectorConfig/unexplainedToIncident``.
    public internal(set) var announced = false
    var sources = HyperLogLog()
    var matchedSamples = 0
    /// Matched samples whose source was seen during warmup.
    var knownSourceSamples = 0
    var firstMatch: UInt64 = 0
    var lastMatch: UInt64 = 0
    var matchesThisTick = 0
    var lastSeen: UInt64
    /// Vectors of matched samples that carry a transport header, and of those that do not
    /// (non-first fragments): an attack is named by the former when it has any.
    var attack: Accumulator
    var attackWithoutTransport: Accumulator

    init(id: Int, openedAt: UInt64, drift: Double, dimension: Int) {
        self.id = id
        self.openedAt = openedAt
        self.drift = drift
        self.lastSeen = openedAt
        self.attack = Accumulator(dimension: dimension)
        self.attackWithoutTransport = Accumulator(dimension: dimension)
    }

    public var isOpen: Bool { closedAt == nil }
}

/// What the detector reports as it goes.
public enum DetectorEvent: Sendable {
    /// Warmup ended: the learned drift thresholds.
    case calibrated(openThreshold: Double, closeThreshold: Double, baselinePps: Double)
    /// The warmup time is over but the baseline is too thin to judge by: learning goes on.
    case learning(samples: Int, neededSamples: Int, calibrationTicks: Int, neededTicks: Int)
    case opened(Incident)
    case rules(incident: Int, [DetectedRule])
    case closed(Incident)
}
