import Foundation
import Rules

/// What the live loop needs of a filter: its table, its counters, its samples. ``Dataplane`` is
/// the real one (XDP maps, root); ``ReferenceFilter`` is the test double beside it (the reference
/// matcher, no root), so the loop's logic is tested in every `swift test`.
public protocol LoopFilter: AnyObject {
    /// Pins and state of a real filter; nil for one that lives in this process only.
    var options: DataplaneOptions? { get }
    var rules: [Rule] { get }
    var stateProblem: DataplaneError? { get }
    @discardableResult
    func update(_ change: ([Rule]) throws(DataplaneError) -> [Rule]) throws(DataplaneError) -> InstallReport
    func delete(ids: Set<UInt32>) throws(DataplaneError) -> Set<UInt32>
    /// The rules of `ids` out and `rules` in, in one change (``Dataplane/change(removing:adding:)``).
    func change(removing ids: Set<UInt32>, adding rules: [Rule]) throws(DataplaneError) -> InstallReport
    func fingerprint() throws(DataplaneError) -> TableFingerprint
    func reloadRules() throws(DataplaneError) -> [Rule]
    func counters(forRule id: UInt32) -> RuleCounters
    func stats() throws(DataplaneError) -> DataplaneStats
    func setSampleEvery(_ n: UInt32) throws(DataplaneError)
    func openSamples() throws(DataplaneError) -> any SampleSource
    /// False once this handle no longer drives the enforcing filter (detached under it).
    func stillAttached() -> Bool
    /// The filter now attached where this one was, when there is one.
    func reopen() -> (any LoopFilter)?
    /// Whether this filter lost its link with its maps still pinned: its interface (or the
    /// interface's namespace) went away. A detach removes the pins, so it is never that.
    func linkLost() -> Bool
    /// This filter attached again, as `holon filter attach` would (its maps, rules and
    /// settings kept), once its interface is back after ``linkLost()``; nil while it is not.
    func attachAgain(_ mode: AttachMode) throws(DataplaneError) -> (any LoopFilter)?
    /// Why the filter no longer runs this process's program (another version took it over),
    /// nil when it does or cannot be told cheaply.
    func programProblem() -> String?
    /// The clock sample timestamps are in (ns since the Unix epoch for a real filter).
    func now() -> UInt64
    /// Readies the table for the loop's next change to go in place, in the background, when
    /// another process's change left it needing a rebuild (``Dataplane/prime()``).
    func keepReady()
    /// Whether the filter only observes (counts what its rules would drop, drops nothing); nil
    /// when that cannot be read.
    func observes() -> Bool?
}

/// Where the loop's samples come from.
public protocol SampleSource: AnyObject {
    /// Waits up to `timeoutMilliseconds` for samples and returns what arrived (maybe none).
    func poll(timeoutMilliseconds: Int32) throws(DataplaneError) -> [DataplaneSample]
    /// Every sample already waiting, without waiting.
    func drain() throws(DataplaneError) -> [DataplaneSample]
    /// Whether samples read from now on keep their bytes (``SampleTap``); made by hand, a
    /// test's samples have theirs anyway.
    func keepBytes(_ on: Bool)
}

extension SampleReader: SampleSource {}

extension LoopFilter {
    /// Through ``update(_:)``: the table less `ids`, plus `rules`.
    public func change(removing ids: Set<UInt32>, adding rules: [Rule]) throws(DataplaneError) -> InstallReport {
        try update { $0.filter { !ids.contains($0.id) } + rules }
    }
}

extension Dataplane: LoopFilter {
    public func openSamples() throws(DataplaneError) -> any SampleSource { try sampleReader() }

    public func reopen() -> (any LoopFilter)? {
        guard let options, let fresh = try? Dataplane.open(options), fresh.stillAttached() else { return nil }
        return fresh
    }

    public func observes() -> Bool? { try? settings().observe }

    public func linkLost() -> Bool {
        guard let options else { return false }
        return holdsPinnedMaps() && (try? Self.liveAttachMode(options)) == nil
    }

    public func attachAgain(_ mode: AttachMode) throws(DataplaneError) -> (any LoopFilter)? {
        guard let options, linkLost(), Dataplane.interfacePresent(options) else { return nil }
        return try Dataplane.attach(options, generic: mode == .generic).0
    }

    /// Whether `options.interface` is there now (in its namespace, which must be there too).
    public static func interfacePresent(_ options: DataplaneOptions) -> Bool {
        (try? inNetworkNamespace(options.namespace) { () throws(DataplaneError) in if_nametoindex(options.interface) != 0 }) ?? false
    }

    /// CLOCK_REALTIME: the filter converts its TAI stamps to it.
    public func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
