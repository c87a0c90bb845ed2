import Foundation
import Packets
import Rules

/// The filter as the reference matcher: the test double beside ``Dataplane`` (as swift-nio's
/// `EmbeddedChannel` is beside a real channel). Frames handed to ``send(_:at:)`` are parsed and
/// judged by `RuleTable` with the data plane's semantics (priority, then id; token buckets on
/// packet time; a rule past its TTL matches nothing), counted, and sampled one in N into the
/// sample queue. Rules are checked by the same compiler as the real filter's. Time is the
/// packets': ``now()`` is the latest packet time (or what ``advance(to:)`` set), so a loop
/// test runs a minute of traffic in a fraction of a second. No root, no kernel.
public final class ReferenceFilter: LoopFilter, SampleSource, @unchecked Sendable {
    public let options: DataplaneOptions? = nil
    public private(set) var rules: [Rule] = []
    public var stateProblem: DataplaneError? { nil }
    private var table: RuleTable
    private var generation: UInt32 = 0
    private var perRule: [UInt32: RuleCounters] = [:]
    private var totals = DataplaneStats()
    private var sampleEvery: UInt32 = 100
    private var sinceSample: UInt32 = 0
    private var pending: [DataplaneSample] = []
    private var clock: UInt64
    /// The earliest expiry among the rules (ns), to drop expired ones lazily.
    private var nextExpiry: UInt64 = .max
    /// Samples the queue holds at most, as the real filter's ring holds 8 MiB: one more is
    /// lost and counted (``DataplaneStats/ringFull``). nil: no limit.
    public var ringCapacity: Int?
    /// Called when the loop polls and nothing waits: the test sends the next slice of traffic.
    public var onPoll: ((ReferenceFilter) -> Void)?
    /// What ``programProblem()`` says: a test sets it to play another version taking the
    /// filter over.
    public var foreignProgram: String?
    /// While true, the filter acts as one detached under the loop (`holon filter detach --force`):
    /// changes are refused as ``DataplaneError/detachedMeanwhile(_:written:)``, and it is not
    /// ``stillAttached()``. False again, it is the filter attached anew, with the table it had.
    public var detached = false
    /// While set, the rule state cannot be written (a full or read-only /run): changes are
    /// refused as ``DataplaneError/stateFile(_:)`` with this text, and the table stays.
    public var stateUnwritable: String?
    /// Observe mode, as `holon filter observe on` sets the real filter's: a rule's drop or rate
    /// limit is counted (its counters, ``DataplaneStats/observedDrops``, the sample marked
    /// ``DataplaneSample/observed``) and the packet passes.
    public var observing = false
    public func programProblem() -> String? { foreignProgram }

    public init(startingAt time: UInt64 = 0) {
        clock = time
        table = try! RuleTable([])
    }

    // MARK: Traffic

    /// Judges one frame at `timestamp` as the XDP program would, and says what it decided.
    @discardableResult
    public func send(_ frame: [UInt8], at timestamp: UInt64) -> SampleVerdict {
        clock = max(clock, timestamp)
        if timestamp >= nextExpiry { dropExpired(at: timestamp) }
        totals.packets += 1
        totals.bytes += UInt64(frame.count)
        var verdict = SampleVerdict.unparsed
        var ruleID: UInt32?
        if var f = try? frame.withUnsafeBytes({ try PacketParser.features($0, timestamp: timestamp, wireLength: frame.count) }) {
            f.direction = .inbound   // XDP sees ingress
            let v = table.classify(f)
            ruleID = v.ruleID
            verdict = SampleVerdict(rawValue: v.decision.rawValue) ?? .pass
            if let id = ruleID {
                totals.matched += 1
                perRule[id, default: RuleCounters()].hits += 1
                if !v.passes { perRule[id, default: RuleCounters()].drops += 1 }
            }
            switch verdict {
            case .drop where observing, .rateLimited where observing: totals.observedDrops += 1; totals.passed += 1
            case .drop: totals.dropped += 1
            case .rateLimited: totals.dropped += 1; totals.rateLimited += 1
            case .counted: totals.counted += 1; totals.passed += 1
            default: totals.passed += 1
            }
        } else {
            totals.unparsed += 1
            totals.passed += 1
        }
        guard sampleEvery > 0 else { return verdict }
        sinceSample += 1
        if sinceSample >= sampleEvery {
            sinceSample = 0
            if let cap = ringCapacity, pending.count >= cap {
                totals.ringFull += 1   /* never waits for the reader */
                return verdict
            }
            totals.sampled += 1
            let observed = observing && (verdict == .drop || verdict == .rateLimited)
            pending.append(DataplaneSample(timestamp: timestamp, wireLength: UInt32(frame.count), verdict: verdict, ruleID: ruleID,
                                           observed: observed, bytes: frame))
        }
        return verdict
    }

    /// A frame the host sends, as the filter's egress half sees it: a TCP connection the host
    /// has becomes known to `flow-check` rules (the tc egress program's `flows` map).
    public func sendEgress(_ frame: [UInt8], at timestamp: UInt64) {
        clock = max(clock, timestamp)
        guard var f = try? frame.withUnsafeBytes({ try PacketParser.features($0, timestamp: timestamp, wireLength: frame.count) }) else { return }
        f.direction = .outbound
        table.observeEgress(f)
    }

    /// Moves the clock on without traffic.
    public func advance(to time: UInt64) { clock = max(clock, time) }

    private func dropExpired(at t: UInt64) {
        let live = rules.filter { !$0.isExpired(at: t) }
        if let next = try? RuleTable(live, carryingStateFrom: table) { table = next }
        nextExpiry = live.compactMap(\.expiresAt).min() ?? .max
    }

    // MARK: LoopFilter

    @discardableResult
    public func update(_ change: ([Rule]) throws(DataplaneError) -> [Rule]) throws(DataplaneError) -> InstallReport {
        if detached { throw .detachedMeanwhile("the reference filter", written: false) }
        if let why = stateUnwritable { throw .stateFile(why) }
        let next = Dataplane.stampingInstallTime(try change(rules), now: clock)
        let compiled: CompiledTable
        do { compiled = try RuleCompiler.compile(next) } catch { throw .compile(error) }
        let live = compiled.ordered.filter { !$0.isExpired(at: clock) }
        guard let t = try? RuleTable(live, carryingStateFrom: table) else { throw .stateFile("the reference matcher refused the table") }
        table = t
        rules = compiled.ordered
        nextExpiry = live.compactMap(\.expiresAt).min() ?? .max
        generation ^= 1
        let kept = Set(rules.map(\.id))
        perRule = perRule.filter { kept.contains($0.key) }
        return InstallReport(rules: rules.count, shapes: compiled.shapes.count, keys: compiled.keys.count, generation: generation, nanoseconds: 0)
    }

    public func delete(ids: Set<UInt32>) throws(DataplaneError) -> Set<UInt32> {
        let missing = ids.subtracting(rules.map(\.id))
        try update { $0.filter { !ids.contains($0.id) } }
        return missing
    }

    public func fingerprint() throws(DataplaneError) -> TableFingerprint {
        TableFingerprint(generation: generation, rules: rules.count, digest: RuleState.digest(rules))
    }

    public func reloadRules() throws(DataplaneError) -> [Rule] { rules }
    public func counters(forRule id: UInt32) -> RuleCounters { perRule[id] ?? RuleCounters() }
    public func stats() throws(DataplaneError) -> DataplaneStats { totals }

    public func setSampleEvery(_ n: UInt32) throws(DataplaneError) {
        sampleEvery = n
        sinceSample = 0
    }

    public func openSamples() throws(DataplaneError) -> any SampleSource { self }
    public func stillAttached() -> Bool { !detached }
    public func reopen() -> (any LoopFilter)? { detached ? nil : self }
    /// Set with ``detached``: the filter went with its interface, not by a detach.
    public var interfaceGone = false
    public func linkLost() -> Bool { detached && interfaceGone }
    /// Attaches this filter again once the test clears ``interfaceGone`` (the interface is back).
    public func attachAgain(_ mode: AttachMode) throws(DataplaneError) -> (any LoopFilter)? {
        guard detached, !interfaceGone else { return nil }
        detached = false
        attachedAgainAs = mode
        return self
    }
    /// How ``attachAgain(_:)`` last attached it.
    public private(set) var attachedAgainAs: AttachMode?
    public func now() -> UInt64 { clock }
    /// The reference table changes in place always.
    public func keepReady() {}
    public func observes() -> Bool? { observing }

    // MARK: SampleSource

    public func keepBytes(_ on: Bool) {}

    public func poll(timeoutMilliseconds: Int32) throws(DataplaneError) -> [DataplaneSample] {
        if pending.isEmpty { onPoll?(self) }
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    public func drain() throws(DataplaneError) -> [DataplaneSample] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }
}
