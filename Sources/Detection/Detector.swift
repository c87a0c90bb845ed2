import Foundation
import Holon
import Packets
import Rules

/// The detector of DESIGN.md: learns a baseline, watches drift, attributes, derives rules.
///
/// Feed it packets (or 1-in-N samples) in timestamp order with ``ingest(_:)``; read what happened
/// with ``drainEvents()``. Time is the packets' own: decay, ticks, rates and durations all come
/// from timestamps, so a capture replayed gives the same incidents as the live stream did.
///
/// The detector watches the traffic its own rules do not already handle. Once a rule covers an
/// attack, those packets stop feeding the drift measure, which returns to normal; a second attack
/// during the first shows up as new unexplained drift or as an unexplained sample rate.
///
/// What it learned survives a restart: ``snapshot(savedAt:)`` saves it, ``init(config:restoring:)``
/// starts armed from it. While armed the baseline keeps adapting slowly to normal traffic
/// (``DetectorConfig/adaptationHalfLife``), never to traffic a rule matched, the filter dropped,
/// or that came during or just before an incident.
public struct Detector {
    public let config: DetectorConfig
    public let space: VectorSpace
    var encoder: VectorEncoder
    var vector: Hypervector
    var recent: Accumulator
    /// Packet vectors not yet in `recent`: flushed when full and at every tick.
    var recentBatch: LaneCounter
    /// Packet vectors not yet in `recent` that the baseline may also learn (armed, calm, not
    /// dropped): flushed into both `recent` and the learning epoch when full and at every tick.
    var learnBatch: LaneCounter
    var baseline: Baseline
    var ring: SampleRing
    let namer: AttackNamer
    let tickNs: UInt64
    let decayPerTick: Double

    enum Phase { case warmup, armed, settling }
    var phase = Phase.warmup
    var startedAt: UInt64?
    var nextTick: UInt64 = 0
    var now: UInt64 = 0
    public internal(set) var openThreshold = Double.infinity
    public internal(set) var closeThreshold = Double.infinity
    /// The factor the lines are multiplied by at the last tick (≥ 1; see ``currentNoiseScale``):
    /// the drift crossed the open line when `lastDrift > openThreshold * noiseScale`.
    public internal(set) var noiseScale = 1.0
    public private(set) var lastDrift = 0.0
    /// The baseline accumulator's norm: set when warmup ends, updated when adaptation moves it.
    var baselineNorm = 0.0
    var ticksAbove = 0
    /// When a still-thin baseline is next reported (``DetectorEvent/learning``).
    var nextLearningNotice: UInt64 = 0
    /// Predicate sets released as false positives, not derived again before `until`.
    var suppressed: [(key: Set<Rules.Predicate>, until: UInt64)] = []

    public internal(set) var incidents: [Incident] = []
    /// The newest incident id given out: ids only grow, so one never names two incidents
    /// (from `incidents.count + 1`, a crossing forgotten under a newer incident — one a memory
    /// recalled meanwhile — gave the next crossing that newer incident's id).
    var lastIncidentID = 0
    var activeRules: [(incident: Int, rule: DetectedRule)] = []
    var pendingAttribution: (incident: Int, ringMark: Int, at: UInt64)?
    var nextResidualCheck: UInt64 = 0
    var residualMark: (written: Int, at: UInt64) = (0, 0)
    /// Samples written and time at the last surge check (``surging(at:)``).
    var surgeMark: (written: Int, at: UInt64) = (0, 0)
    var nextRuleID: UInt32 = 1
    var events: [DetectorEvent] = []
    /// Samples ingested.
    public private(set) var samples = 0
    /// Crossings (incident ids, not announced) whose traffic was judged a legitimate change.
    var excused = Set<Int>()
    /// Attack shapes the warmup held, left out of the baseline (``WarmupAudit``).
    public internal(set) var warmupFindings: [WarmupFinding] = []
    /// What ``ChangeJudge`` said of each rule before it was installed or not, oldest first (the
    /// last ``maxJudgements``).
    public internal(set) var judgements: [ChangeJudgement] = []
    /// Drift crossings that faded before anything could be blamed: not incidents.
    public private(set) var unexplainedCrossings = 0
    /// What armed traffic the baseline learns (nil when ``DetectorConfig/adaptationHalfLife`` is).
    var adaptation: BaselineAdaptation?
    /// The last tick found the detector calm (``isCalm``) and the drift below the open line.
    var calm = false
    /// Attacks closed before, to recognise when they return (``recallAttacks(at:)``).
    var memory = AttackMemory()
    /// The subspace drift signal (``DetectorConfig/driftSignal`` other than `.cosine`).
    var subspace: SubspaceDrift?
    /// The engram attack memory (``DetectorConfig/attackMemory`` `.engrams`).
    var engrams: EngramAttackMemory?

    public init(config: DetectorConfig = DetectorConfig()) {
        self.config = config
        space = VectorSpace(dimension: config.dimension, seed: config.seed)
        encoder = VectorEncoder(space: space, pairCacheSlots: 8192)
        vector = Hypervector(dimension: config.dimension)
        recent = Accumulator(dimension: config.dimension)
        recentBatch = LaneCounter(dimension: config.dimension)
        learnBatch = LaneCounter(dimension: config.dimension)
        baseline = Baseline(dimension: config.dimension, reservoirCapacity: config.reservoirCapacity, seed: config.seed)
        ring = SampleRing(capacity: config.ringCapacity)
        namer = AttackNamer(encoder: &encoder)
        tickNs = max(1, DetectorConfig.ns(config.tick))
        let half = Double(DetectorConfig.ns(config.halfLife)) / 1e9
        decayPerTick = exp2(-(Double(tickNs) / 1e9) / half)
        adaptation = config.adaptationHalfLife.map {
            BaselineAdaptation(dimension: config.dimension, halfLife: $0, epoch: config.adaptationEpoch,
                               reservoirCapacity: config.reservoirCapacity, seed: config.seed)
        }
    }

    public var isWarmedUp: Bool { phase != .warmup }

    /// The baseline's sample of normal packets: what any wider form of a rule (a Flowspec
    /// announcement dropping a field) must still spare.
    public var baselinePackets: [PacketFeatures] { baseline.reservoir }

    /// Events since the last call.
    public mutating func drainEvents() -> [DetectorEvent] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    /// Rules in force now, each followed by its exceptions (pass rules for the sources it spares).
    public var rules: [DetectedRule] { activeRules.flatMap(\.rule.installed) }

    // MARK: The per-packet path

    public mutating func ingest(_ f: PacketFeatures) { ingest(f, verdict: .unknown) }

    /// Like ``ingest(_:)``, for a sample of a filter that says what it did with the packet.
    ///
    /// A dropped sample (a rule of an earlier run, adopted, or any rule this detector does not
    /// hold) is judged like any other — its traffic is what the rules are about — but the
    /// baseline never learns from it, in warmup or after. A sample that an authenticating rule
    /// (``ConnectionCheck``) matched but the filter passed is a real handshake or flow: it is
    /// normal traffic, not the attack's (the incident's rate, sources and false-positive share
    /// count only what the rule stopped).
    public mutating func ingest(_ f: PacketFeatures, verdict: FilterVerdict) {
        let droppedByFilter = verdict == .dropped
        advance(to: f.timestamp)
        samples += 1
        if phase == .warmup {
            if droppedByFilter { return }
            encoder.encode(DetectorRecord(f), into: &vector)
            baseline.learn(f, vector: vector)
            addRecent(vector)
            return
        }
        for i in activeRules.indices where activeRules[i].rule.matches(f) {
            if verdict == .passed && activeRules[i].rule.authentication != nil { continue }
            recordMatch(f, incident: activeRules[i].incident)
            return
        }
        encoder.encode(DetectorRecord(f), into: &vector)
        ring.append(f)
        if !droppedByFilter && calm && adaptation?.observe(f, known: baseline.sources) == true {
            learnBatch.add(vector)
            if learnBatch.isFull { flushLearning() }
        } else {
            addRecent(vector)
        }
    }

    /// Armed with nothing open or being attributed: the state in which traffic may be learned.
    /// (Checked per tick; ``calm`` carries it to the per-packet path.)
    var isCalm: Bool {
        phase == .armed && pendingAttribution == nil && ticksAbove == 0 && !incidents.contains { $0.isOpen }
    }

    @inline(__always)
    mutating func addRecent(_ v: Hypervector) {
        recentBatch.add(v)
        if recentBatch.isFull { recentBatch.flush(into: &recent) }
    }

    /// Flushes the vectors being learned into the recent window and the learning epoch at once.
    mutating func flushLearning() {
        if adaptation?.current != nil {
            learnBatch.flush(into: &recent, and: &adaptation!.current!.accumulator)
        } else {
            learnBatch.flush(into: &recent)
        }
    }

    /// Moves traffic time forward (also call at the end of a stream to flush the last ticks).
    public mutating func advance(to t: UInt64) {
        if startedAt == nil {
            startedAt = t
            nextTick = t &+ tickNs
            memory.startClock(at: t)
        }
        if t > now { now = t }
        guard t >= nextTick else { return }
        recentBatch.flush(into: &recent)
        flushLearning()
        let ticks = (t - nextTick) / tickNs + 1
        recent.decay(by: ticks == 1 ? decayPerTick : pow(decayPerTick, Double(ticks)))
        // Decayed to less than a thousandth of one sample, the window holds nothing: emptied,
        // so it reads as no traffic (``windowDrift`` 0), not as the direction of the last
        // packets seen seconds ago, however faded (a silent link opened incidents on those).
        if recent.weight < Self.emptyWindowWeight && recent.weight > 0 { recent.reset() }
        let tickTime = nextTick &+ (ticks - 1) &* tickNs
        nextTick = tickTime &+ tickNs
        onTick(tickTime)
    }

    mutating func recordMatch(_ f: PacketFeatures, incident id: Int) {
        guard let i = incidents.firstIndex(where: { $0.id == id }) else { return }
        if incidents[i].matchedSamples == 0 { incidents[i].firstMatch = f.timestamp }
        incidents[i].matchedSamples += 1
        incidents[i].lastMatch = max(incidents[i].lastMatch, f.timestamp)
        incidents[i].matchesThisTick += 1
        if baseline.sources.contains(f.srcIP) { incidents[i].knownSourceSamples += 1 }
        switch f.srcIP {
        case .v4(let a): incidents[i].sources.insert(UInt64(a))
        // Both halves in one hash: two IPv6 sources differing in either half count twice.
        case .v6(let hi, let lo): incidents[i].sources.insert(hash: StableHash.fmix64(StableHash.hash(hi) ^ lo))
        }
        if f.hasTransportHeader {
            if incidents[i].attack.count < 2048 {
                encoder.encode(DetectorRecord(f), into: &vector)
                incidents[i].attack.add(vector)
            }
        } else if incidents[i].attackWithoutTransport.count < 2048 {
            encoder.encode(DetectorRecord(f), into: &vector)
            incidents[i].attackWithoutTransport.add(vector)
        }
    }

    // MARK: Ticks

    /// The decayed weight below which the recent window counts as empty (see ``advance(to:)``).
    static let emptyWindowWeight = 1e-3

    /// How far the recent window is from the baseline. No traffic is no reading (0): what
    /// traffic is made of cannot have drifted while none comes (its rate is the heartbeat's
    /// and the metrics'), and an empty window's cosine is 0, which read as the largest drift.
    var windowDrift: Double {
        recent.weight == 0 ? 0 : 1 - recent.cosine(baseline.accumulator, otherNorm: baselineNorm)
    }

    mutating func onTick(_ t: UInt64) {
        guard let start = startedAt else { return }
        let warm = DetectorConfig.ns(config.warmup)
        if phase == .warmup {
            baseline.settle()
            baselineNorm = baseline.accumulator.norm
        }
        let empty = recent.weight == 0
        let drift = windowDrift
        lastDrift = drift
        if config.driftSignal != .cosine && !empty { subspaceTick(t, start: start) }
        if phase == .warmup {
            if t >= start + warm / 2 && !empty { baseline.drift.add(drift) }
            if t >= start + warm {
                if baseline.samples >= config.minWarmupSamples && baseline.drift.count >= config.minCalibrationTicks {
                    finishWarmup(at: t)
                } else if t >= nextLearningNotice {
                    nextLearningNotice = t &+ warm
                    events.append(.learning(samples: baseline.samples, neededSamples: config.minWarmupSamples,
                                            calibrationTicks: baseline.drift.count, neededTicks: config.minCalibrationTicks))
                }
            }
            return
        }
        noiseScale = currentNoiseScale
        let openLine = openThreshold * noiseScale, closeLine = closeThreshold * noiseScale
        checkIncidents(t)
        if config.attackMemory == .engrams { engramTick(at: t) } else { recallAttacks(at: t) }
        switch phase {
        case .warmup: break
        case .armed:
            ticksAbove = aboveOpen(drift: drift, line: openLine) ? ticksAbove + 1 : 0
            let surge = surging(at: t)
            if surge { exactReading() }
            if ticksAbove >= config.ticksToOpen || (surge && (config.driftSignal == .cosine ? drift > closeLine : aboveClose(drift: drift, line: closeLine))) {
                open(at: t, drift: drift)
            }
        case .settling:
            if !aboveClose(drift: drift, line: closeLine) && pendingAttribution == nil {
                phase = .armed
                ticksAbove = 0
            } else if pendingAttribution == nil && t >= nextResidualCheck {
                checkResidualRate(t)
            }
        }
        if let p = pendingAttribution, ring.written - p.ringMark >= 128 || t >= p.at + 100_000_000 {
            pendingAttribution = nil
            if !attribute(incident: p.incident, since: p.at &- 4 &* tickNs, at: t) {
                // Attribution may have learned a legitimate change: judge by the drift now.
                let drift = windowDrift
                // Nothing abnormal to blame yet. While the drift stays up, look again at what
                // arrives next (an attack's first packets may have been too few); once it is
                // back to normal, the crossing was a false alarm: close it and re-arm.
                if aboveClose(drift: drift, line: closeLine) {
                    pendingAttribution = (p.incident, ring.written, t)
                    // Abnormal for long with nothing a rule can single out: an incident all the
                    // same (detected, not mitigated), so the operator hears of it.
                    // A crossing whose traffic was judged legitimate is not unexplained.
                    if let i = incidents.firstIndex(where: { $0.id == p.incident }), !incidents[i].announced,
                       !excused.contains(p.incident),
                       t >= incidents[i].openedAt &+ DetectorConfig.ns(config.unexplainedToIncident) {
                        let since = ring.last(ring.capacity).filter { $0.timestamp >= incidents[i].openedAt }
                        if isTypicalGrowth(since) {
                            excused.insert(p.incident)
                            learnChange(since)
                        } else {
                            announce(i)
                        }
                    }
                } else if let i = incidents.firstIndex(where: { $0.id == p.incident }) {
                    if incidents[i].announced {
                        close(i, at: t)
                    } else {
                        // Never announced, nothing to undo: it was not an incident.
                        forgetUnannounced(at: i)
                        excused.remove(p.incident)
                        unexplainedCrossings += 1
                    }
                    phase = .armed
                    ticksAbove = 0
                }
            }
        }
        adapt(at: t, clean: !aboveOpen(drift: drift, line: openLine))
    }

    /// Lets the baseline learn the epoch that has just cleared, if one has.
    mutating func adapt(at t: UInt64, clean belowOpenLine: Bool) {
        guard adaptation != nil else { return }
        // Below the open line, not the close one: the close line is hysteresis for re-arming,
        // and traffic that has drifted a little since the baseline was learned — what
        // adaptation is for — sits between the two. An attack crosses the open line within a
        // few ticks of its start, and the epoch held back absorbs those ticks.
        let clean = isCalm && belowOpenLine
        calm = clean
        guard let (epoch, share) = adaptation!.tick(at: t, clean: clean) else { return }
        baseline.absorb(epoch, share: share)
        baselineNorm = baseline.accumulator.norm
    }

    /// Epochs of armed traffic the baseline has learned, and ones dropped because something
    /// abnormal happened during or right after them (``DetectorConfig/adaptationHalfLife``).
    public var adaptationCounts: (learned: Int, discarded: Int) {
        (adaptation?.learned ?? 0, adaptation?.discarded ?? 0)
    }

    /// Makes a crossing an incident: reported from here on.
    mutating func announce(_ i: Int) {
        incidents[i].announced = true
        events.append(.opened(incidents[i]))
    }

    mutating func finishWarmup(at t: UInt64) {
        (openThreshold, closeThreshold) = lines(from: baseline.drift)
        baseline.freeze()
        phase = .armed
        // An attack already running when learning started is not normal: leave it out of the
        // baseline, say so, and open its incident now (issue 14 §2).
        let found = WarmupAudit.findings(in: baseline.reservoir)
        if !found.isEmpty {
            let matches = found.map(\.exclude)
            let space = self.space
            var encoder = VectorEncoder(space: space, pairCacheSlots: 1024)
            let sampledShare = baseline.samples > 0 ? min(1, Double(baseline.reservoir.count) / Double(baseline.samples)) : 1
            let kept = baseline.exclude(where: { f in matches.contains { $0(f) } },
                                        encode: { encoder.encode(DetectorRecord($0)) })
            baselineNorm = baseline.accumulator.norm
            // The lines were calibrated on the attack too: drawn again from the clean packets
            // (``warmupDrift``). With too few of those to calibrate on, scaled for the clean
            // rate only: the drift of sampling noise grows as the rate falls (DriftNoise).
            if kept > 0 && kept < 1, let start = startedAt {
                let clean = Self.warmupDrift(
                    of: baseline.reservoir, from: start, to: t, calibratingFrom: start &+ DetectorConfig.ns(config.warmup) / 2,
                    tickNs: tickNs, decayPerTick: decayPerTick, sampledShare: sampledShare, dimension: config.dimension,
                    encode: { encoder.encode(DetectorRecord($0)) })
                if clean.count >= config.minCalibrationTicks && baseline.reservoir.count >= config.minWarmupSamples {
                    baseline.drift = clean
                    (openThreshold, closeThreshold) = lines(from: clean)
                } else {
                    openThreshold /= kept
                    closeThreshold /= kept
                }
            }
            warmupFindings = found.map(\.finding)
        }
        events.append(.calibrated(openThreshold: openThreshold, closeThreshold: closeThreshold,
                                  baselinePps: baseline.sampleRate * Double(config.samplingRate)))
        if !found.isEmpty { open(at: t, drift: lastDrift) }
    }

    /// Numbers the incidents to come after `id` (a restart: the incidents of the rules it
    /// adopted keep theirs); ids already given are unchanged.
    public mutating func numberIncidents(after id: Int) {
        lastIncidentID = max(lastIncidentID, id)
    }

    /// An id for a new incident.
    mutating func nextIncidentID() -> Int {
        lastIncidentID += 1
        return lastIncidentID
    }

    /// Drops incident `i`, never announced (no one heard of its id). Its id is given out again
    /// only when it was the newest, so the incidents a person sees are numbered without gaps.
    mutating func forgetUnannounced(at i: Int) {
        if incidents[i].id == lastIncidentID { lastIncidentID -= 1 }
        incidents.remove(at: i)
    }

    mutating func open(at t: UInt64, drift: Double) {
        // A crossing is only an incident once something is blamed for it (or it lasts): the
        // `.opened` event waits for that, and a crossing that fades unexplained is counted in
        // ``unexplainedCrossings`` instead (issue 10 §7: 13 empty "unknown" incidents for 4 attacks).
        let inc = Incident(id: nextIncidentID(), openedAt: t, drift: drift, dimension: config.dimension)
        incidents.append(inc)
        // The ring already holds the samples that raised the drift: attribute now when there are
        // enough of them, else as soon as there are.
        let since = t &- 4 &* tickNs
        let fresh = ring.last(min(ring.capacity, 256)).filter { $0.timestamp >= since }.count
        pendingAttribution = (inc.id, ring.written - fresh, t)
        phase = .settling
        ticksAbove = 0
        nextResidualCheck = t + 250_000_000
        residualMark = (ring.written, t)
    }

    /// Whether unexplained samples arrived ``DetectorConfig/surgeFactor`` times faster than the
    /// baseline's rate since the last look (every 100 ms while armed).
    mutating func surging(at t: UInt64) -> Bool {
        guard t >= surgeMark.at &+ 100_000_000 else { return false }
        defer { surgeMark = (ring.written, t) }
        guard surgeMark.at != 0 else { return false }
        let n = Double(ring.written - surgeMark.written)
        let expected = baseline.sampleRate * Double(t - surgeMark.at) / 1e9
        guard n > config.surgeFactor * expected + 5 * expected.squareRoot() + 20 else { return false }
        // From many sources: one client's large transfer (an editor's upload in the baseline lab)
        // is a surge of one connection, not a flood; a flood from one address that looks like
        // normal traffic is left to the drift.
        var sources = Set<IPAddress>()
        for f in ring.last(min(Int(n), 512)) {
            sources.insert(f.srcIP)
            if sources.count >= Self.surgeSources { return true }
        }
        return false
    }

    /// Distinct sources a surge must come from (see ``surging(at:)``).
    static let surgeSources = 8

    /// While settling, unexplained traffic arriving much faster than normal means another attack
    /// (or a part of this one the rules miss).
    mutating func checkResidualRate(_ t: UInt64) {
        let n = ring.written - residualMark.written
        let seconds = Double(t - residualMark.at) / 1e9
        let expected = baseline.sampleRate * seconds
        residualMark = (ring.written, t)
        nextResidualCheck = t + 250_000_000
        if Double(n) > 3 * expected + 5 * expected.squareRoot() + 20 {
            open(at: t, drift: lastDrift)
        }
    }

    mutating func checkIncidents(_ t: UInt64) {
        let quiet = DetectorConfig.ns(config.quietToClose)
        let tickSeconds = Double(tickNs) / 1e9
        for i in incidents.indices where incidents[i].isOpen {
            let expected = incidents[i].rules.reduce(0.0) { $0 + $1.baselineShare } * baseline.sampleRate * tickSeconds
            if Double(incidents[i].matchesThisTick) > 3 * expected + 2 { incidents[i].lastSeen = t }
            incidents[i].matchesThisTick = 0
            let attributed = !incidents[i].rules.isEmpty || pendingAttribution?.incident != incidents[i].id
            if let why = falsePositive(incidents[i]) {
                incidents[i].falsePositive = why
                for r in incidents[i].rules { suppress(r.predicates.map(\.predicate), at: t) }
                close(i, at: t)
            } else if attributed && t > incidents[i].lastSeen + quiet {
                close(i, at: t)
            }
        }
    }

    /// Why an incident's rules are hitting real users, when they are (``DetectorConfig/falsePositiveKnownShare``).
    func falsePositive(_ inc: Incident) -> String? {
        guard !inc.rules.isEmpty, inc.matchedSamples >= config.falsePositiveMinSamples else { return nil }
        let share = Double(inc.knownSourceSamples) / Double(inc.matchedSamples)
        guard share >= config.falsePositiveKnownShare else { return nil }
        return String(format: "%.0f%% of the %d samples its rules matched came from sources seen in normal traffic", share * 100, inc.matchedSamples)
    }

    /// Rules with these predicates are not derived again until the suppression runs out: they
    /// were released as false positives (by the detector or an operator).
    public mutating func suppress(_ predicates: [Rules.Predicate], at t: UInt64) {
        let key = Self.key(predicates)
        suppressed.removeAll { $0.key == key || $0.until <= t }
        suppressed.append((key, t &+ DetectorConfig.ns(config.suppressReleased)))
    }

    func isSuppressed(_ predicates: [Rules.Predicate], at t: UInt64) -> Bool {
        let key = Self.key(predicates)
        return suppressed.contains { $0.key == key && $0.until > t }
    }

    /// What a rule matches, whatever the order its predicates were written in.
    static func key(_ predicates: [Rules.Predicate]) -> Set<Rules.Predicate> { Set(predicates) }

    mutating func close(_ i: Int, at t: UInt64) {
        incidents[i].closedAt = t
        updateRate(i)
        let id = incidents[i].id
        activeRules.removeAll { $0.incident == id }
        memory.remember(incidents[i], at: t)
        events.append(.closed(incidents[i]))
    }

    mutating func updateRate(_ i: Int) {
        let inc = incidents[i]
        // The attack's span ends at the last tick its rules matched well above what normal
        // traffic predicts, not at the last match: a normal packet the rule also matches (a
        // host's own RST-ACKs under a reflection's RST-ACK rule) comes on until the incident
        // closes and stretched the span by a second (the synack-reflection built-in read 0.85).
        let end = min(inc.lastMatch, max(inc.lastSeen &+ tickNs, inc.firstMatch &+ 1))
        guard inc.matchedSamples > 1, end > inc.firstMatch else { return }
        let measured = Double(inc.matchedSamples - 1) / (Double(end - inc.firstMatch) / 1e9)
            * Double(config.samplingRate)
        // Carried as a log-scalar vector, as the sidecar shares it; the decoded value is reported.
        let scalars = space.scalarEncoder
        incidents[i].estimatedPps = scalars.decode(scalars.encode(measured, .log), .log)
        // A transport header says what an attack is; continuations only say it was large.
        incidents[i].name = AttackNamer.name(fromRules: inc.rules)
            ?? namer.name(inc.attack.count > 0 ? inc.attack : inc.attackWithoutTransport)
    }

    /// The current estimate for an open incident (updates the incident's rate and name).
    public mutating func refreshEstimates() {
        for i in incidents.indices { updateRate(i) }
    }

    // MARK: Attribution

    /// Derives the incident's rules from the samples since `since`; false when nothing abnormal
    /// could be blamed.
    @discardableResult
    mutating func attribute(incident id: Int, since: UInt64, at t: UInt64) -> Bool {
        guard let i = incidents.firstIndex(where: { $0.id == id }) else { return true }
        // What arrived since shortly before the drift crossed the threshold: mostly the change.
        var recentSamples = ring.last(ring.capacity).filter { $0.timestamp >= since }
        if recentSamples.count < 64 { recentSamples = ring.last(ring.capacity) }
        let baselinePps = baseline.sampleRate * Double(config.samplingRate)
        let attribution = Attribution(space: space, recent: recent, baseline: baseline.accumulator)
        var deriver = RuleDeriver(
            baseline: baseline, spareShare: config.spareShare, baselinePps: baselinePps,
            presence: attribution.presence)
        if config.payloadRules { deriver.payloadSeed = config.seed }
        var derived: [DetectedRule] = []
        var judgedLegitimate = false, learnable = true
        let unexplained = recentSamples
        // Samples from several CPUs reach the ring slightly out of order: the span is from the
        // earliest to the latest, not first to last.
        let stamps = recentSamples.lazy.map(\.timestamp)
        let spanSeconds = recentSamples.count > 1 ? Double(stamps.max()! - stamps.min()!) / 1e9 : 0
        // Packets of different shapes (with ports, non-first fragments, others) cannot share a
        // rule on their distinguishing fields, so each shape that is a real part of the change
        // gets its own rule; what no rule covers is tried again as long as it is abnormal.
        while derived.count < config.maxRulesPerIncident {
            let expected = baseline.sampleRate * spanSeconds
            deriver.normalShare = recentSamples.isEmpty ? 0 : expected / Double(recentSamples.count)
            if !derived.isEmpty && Double(recentSamples.count) <= 3 * expected + 5 * expected.squareRoot() + 20 { break }
            let groups = Dictionary(grouping: recentSamples, by: Self.shape).values
                .filter { Double($0.count) >= 0.1 * Double(recentSamples.count) }
                .sorted { $0.count > $1.count }
            var progressed = false
            for group in groups where derived.count < config.maxRulesPerIncident {
                guard let rule = deriver.derive(from: group), !isSuppressed(rule.predicates.map(\.predicate), at: t) else { continue }
                // Only traffic that is abnormal earns a rule: what the rule covers must arrive
                // well above the rate its baseline share predicts (a bursty normal flow left
                // over after the attack's rule does not).
                let covered = recentSamples.filter { f in rule.predicates.allSatisfy { $0.matches(f) } }
                let predicted = rule.baselineShare * baseline.sampleRate * spanSeconds
                guard Double(covered.count) > 3 * predicted + 5 * predicted.squareRoot() + 20 else { continue }
                // Abnormal is not hostile: growth and new services of real users get no rule.
                // Judged on all the ring holds of it (seconds of traffic), not only the moments
                // since the crossing: a change that grows slowly has few samples in those.
                let judged = ring.last(ring.capacity).filter { f in rule.predicates.allSatisfy { $0.matches(f) } }
                let verdict = ChangeJudge.judge(predicates: rule.predicates, covered: judged, baseline: baseline,
                                                knownShare: config.falsePositiveKnownShare, encoder: &encoder)
                record(ChangeJudgement(legitimate: verdict.legitimate, at: t,
                                                  rule: rule.predicates.map(\.description).joined(separator: " AND "),
                                                  reason: verdict.reason, learnedShare: 0))
                if verdict.legitimate {
                    judgedLegitimate = true
                    learnable = learnable && verdict.growth
                    recentSamples.removeAll { f in rule.predicates.allSatisfy { $0.matches(f) } }
                    progressed = true
                    continue
                }
                let made = makeRule(rule, implyingProtocolOf: group, at: t)
                derived.append(made)
                recentSamples.removeAll { made.matches($0) }
                // The other parts of a split change are the same attack: their rules now, even
                // when their first samples are still too few to earn one on their own.
                for part in rule.siblings where derived.count < config.maxRulesPerIncident
                    && !isSuppressed(part.predicates.map(\.predicate), at: t) {
                    let other = makeRule(part, implyingProtocolOf: group, at: t)
                    derived.append(other)
                    recentSamples.removeAll { other.matches($0) }
                }
                progressed = true
            }
            if !progressed { break }
        }
        guard !derived.isEmpty else {
            // Only when nothing in it is an attack: the change's traffic is then what normal
            // has become, and learning it is what brings the drift back within its spread.
            if judgedLegitimate {
                excused.insert(id)
                if learnable { learnChange(unexplained) }
            }
            return false
        }
        if !incidents[i].announced, let j = fragmentOf(i, rules: derived) {
            merge(derived, from: i, into: j, at: t)
            return true
        }
        if !incidents[i].announced { announce(i) }
        incidents[i].rules += derived
        for r in derived { activeRules.append((id, r)) }
        events.append(.rules(incident: id, derived.flatMap(\.installed)))
        // What is unexplained from here on is measured from here on: the attack's samples that
        // waited for these rules must not count as a second attack.
        residualMark = (ring.written, t)
        nextResidualCheck = t + 250_000_000
        return true
    }

    /// Transport shape: 0 ports, 1 non-first fragment, 2 other.
    static func shape(_ f: PacketFeatures) -> Int { f.hasPorts ? 0 : (f.fragOffset != 0 ? 1 : 2) }

    mutating func makeRule(_ d: DerivedRule, implyingProtocolOf group: [PacketFeatures], at t: UInt64) -> DetectedRule {
        var d = d
        // Name what every covered packet shares on the fields that say what an attack is (its
        // protocol, TCP flags, ICMP type) even when normal traffic shares it too: the rule then
        // reads as what it is, and it can only narrow.
        let covered = group.filter { f in d.predicates.allSatisfy { $0.matches(f) } }
        for field in [RuleField.proto, .tcpFlags, .icmpType] where !d.predicates.contains(where: { $0.field == field }) {
            if let v = covered.first.flatMap(field.value(in:)), covered.allSatisfy({ field.value(in: $0) == v }) {
                let at = d.predicates.firstIndex { RuleDeriver.rank($0.field) > RuleDeriver.rank(field) } ?? d.predicates.count
                d.predicates.insert(Candidate(field: field, kind: .equals(v)), at: at)
            }
        }
        let id = nextRuleID
        nextRuleID += 1
        var why: [String] = []
        for p in d.predicates {
            if let pr = d.presence[p] {
                if case .bytes(let b) = p.kind {
                    why.append("\(p) in no baseline payload; payload@\(b.offset)=\(String(format: "%02x", b.value[0])) presence \(fmt(pr.baseline))→\(fmt(pr.recent))")
                } else {
                    why.append("\(p) presence \(fmt(pr.baseline))→\(fmt(pr.recent))")
                }
            }
        }
        why.append(String(format: "covers %.1f%% of unexplained recent traffic, %.3f%% of baseline", d.recentShare * 100, d.baselineShare * 100))
        if !d.spared.isEmpty { why.append("spares \(d.spared.count) source(s) that send it steadily in the baseline") }
        let limit: UInt64? = d.baselineShare > 0 ? UInt64(max(10, (2 * d.baselinePps).rounded(.up))) : nil
        var rule = ActionChoice.refine(DetectedRule(id: id, rateLimitPps: limit, derivedAt: t, explanation: why.joined(separator: "; "),
                                                    predicates: d.predicates, baselineShare: d.baselineShare), covering: covered)
        rule.spared = Set(d.spared)
        // Each exception carves its source out of the rule as finally scoped (refine may narrow it).
        let scoped = rule.predicates
        rule.exceptions = d.spared.map { source in
            defer { nextRuleID += 1 }
            var pass = DetectedRule(
                id: nextRuleID, rateLimitPps: nil, derivedAt: t,
                explanation: "exception to rule \(id): \(source) sends this traffic steadily in the baseline",
                predicates: scoped + [SparedSources.candidate(source)], baselineShare: 0)
            pass.passes = true
            return pass
        }
        return rule
    }

    func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
}
