import CHolonXDP
import CLibBPF
import Foundation
import Rules

/// Handle on the XDP filter's maps (and program, when this process loaded it).
///
/// Three ways to get one:
/// - ``attach(_:generic:)`` loads the program, attaches it to the interface and pins maps,
///   program and link under the pin directory: the filter keeps enforcing after the process exits;
/// - ``open(_:)`` reopens the pinned maps of an attached filter (another process, a restart);
/// - ``transient()`` loads a private, unpinned, unattached copy for `BPF_PROG_RUN` (tests,
///   benchmarks).
///
/// Methods are thread-safe; table installs are serialised.
public final class Dataplane: @unchecked Sendable {
    /// nil for a transient instance.
    public let options: DataplaneOptions?
    let object: OpaquePointer?
    /// The program, or -1 when opened from pins without it.
    public let programFD: Int32
    let maps: [XDPMap: Int32]
    let lock = NSLock()
    /// The table as installed (slot order), the base for add/delete and state carry-over.
    var installedRules: [Rule]
    /// The filter's fingerprint when ``installedRules`` was last read or installed by this
    /// handle: while the filter still shows it, the state file holds nothing new (each install
    /// records its table's digest), and a change need not parse it again.
    var knownFingerprint: TableFingerprint?
    /// Why ``rules`` could not be known when this handle was opened (the state file does not
    /// describe the filter's table); nil when it could.
    public var stateProblem: DataplaneError? { lock.withLock { storedStateProblem } }
    var storedStateProblem: DataplaneError?
    /// What this handle knows of each generation's maps (index = generation), nil when unknown.
    var images: [TableImage?] = [nil, nil]
    /// The generation left one change behind by the last flip, to bring up to date.
    var pending: CatchUp?
    /// A ``keepReady()`` prime is running.
    var priming = false
    /// Which rule ids count in slots (cache of the `rule_slots` map).
    var counterSlots = CounterSlots()
    /// Whether packets may still be reading the inactive generation (a flip happened and no
    /// grace period was waited for since); unknown, hence true, for a new handle.
    var readersMayRemain = true
    /// What ``attach(_:generic:)`` replaced to give this handle its filter, nil when it replaced
    /// nothing (a new filter, or one already running this version's programs).
    public internal(set) var takeover: ProgramTakeover?
    /// Why ``attach(_:generic:)`` attached in generic mode where native was asked for; nil
    /// otherwise, and for a filter that was already attached.
    public internal(set) var nativeRefusal: NativeRefusal?
    /// Whether this handle's program was loaded frags-aware (an interface of jumbo frames).
    public internal(set) var multiBuffer = false

    init(options: DataplaneOptions?, object: OpaquePointer?, programFD: Int32, maps: [XDPMap: Int32], rules: [Rule]) {
        self.options = options
        self.object = object
        self.programFD = programFD
        self.maps = maps
        self.installedRules = rules
    }

    /// Reads the table from the state file, checked against the maps; on a mismatch the table
    /// is unknown (``stateProblem``), never assumed empty.
    func loadState() {
        guard let options else { return }
        do {
            let fp = try fingerprint()
            installedRules = try RuleState.read(options, expected: fp)
            knownFingerprint = fp
            storedStateProblem = nil
        } catch {
            installedRules = []
            knownFingerprint = nil
            storedStateProblem = error
        }
    }

    /// Re-reads the table from the state file (another process may have changed it), checked
    /// against the maps.
    public func reloadRules() throws(DataplaneError) -> [Rule] {
        guard let options else { return rules }
        let (current, fp) = try RuleState.locked(options) { () throws(DataplaneError) in
            let fp = try fingerprint()
            return (try RuleState.read(options, expected: fp), fp)
        }
        lock.withLock {
            installedRules = current
            knownFingerprint = fp
            storedStateProblem = nil
        }
        return current
    }

    /// The rules the filter enforces, or why they cannot be known.
    public func verifiedRules() throws(DataplaneError) -> [Rule] {
        if let stateProblem { throw stateProblem }
        return rules
    }

    /// Which table the filter enforces now (from its config map).
    public func fingerprint() throws(DataplaneError) -> TableFingerprint {
        let c = try config()
        let t = c.gen & 1 == 0 ? c.table.0 : c.table.1
        return TableFingerprint(generation: c.gen, rules: Int(t.nrules), digest: t.digest)
    }

    deinit {
        if let object {
            bpf_object__close(object)   // closes the program and map fds it owns
        } else {
            for fd in maps.values { close(fd) }
            if programFD >= 0 { close(programFD) }
        }
    }

    func fd(_ map: XDPMap) -> Int32 { maps[map]! }

    static func requireRoot() throws(DataplaneError) {
        guard geteuid() == 0 else { throw .notRoot }
    }

    /// Loads a private copy: nothing pinned, nothing attached, sampling off.
    public static func transient() throws(DataplaneError) -> Dataplane {
        try requireRoot()
        let obj = try EmbeddedObject.open(pinDirectory: nil)
        let dp = try load(obj, options: nil)
        var cfg = try dp.config()
        cfg.sample_every = 0
        try dp.writeConfig(cfg)
        return dp
    }

    /// `readingState`: false leaves ``rules`` unread (``loadState()`` reads them): a caller that
    /// only compares programs read a million-rule state file for nothing (4 s).
    static func load(_ obj: OpaquePointer, options: DataplaneOptions?, readingState: Bool = true) throws(DataplaneError) -> Dataplane {
        let r = bpf_object__load(obj)
        if r < 0 {
            bpf_object__close(obj)
            throw .system("loading the XDP program (verifier or map pin mismatch; `holon filter detach` clears old pins)", code: -r)
        }
        let prog = bpf_object__find_program_by_name(obj, EmbeddedObject.programName)
        var maps: [XDPMap: Int32] = [:]
        for m in XDPMap.allCases { maps[m] = bpf_object__find_map_fd_by_name(obj, m.name) }
        let dp = Dataplane(options: options, object: obj, programFD: bpf_program__fd(prog), maps: maps, rules: [])
        // This version's tags, learnt at the cost of the load: later commands compare with them.
        if let options { ProgramTagCache.record(ProgramIdentity(object: obj), options) }
        if readingState { dp.loadState() }
        return dp
    }

    /// Reopens the maps (and program) pinned by an earlier ``attach(_:generic:)``.
    public static func open(_ options: DataplaneOptions = .standard) throws(DataplaneError) -> Dataplane {
        try requireRoot()
        var maps: [XDPMap: Int32] = [:]
        for m in XDPMap.allCases {
            let fd = bpf_obj_get("\(options.pinDirectory)/\(m.name)")
            guard fd >= 0 else {
                for f in maps.values { close(f) }
                // Some pins but not this one: a filter an earlier version attached, whose
                // program lacks the map. Attaching again keeps its rules and adds it.
                if !maps.isEmpty { throw .outdatedFilter(options.pinDirectory, missing: m.name) }
                throw .notAttached(options.pinDirectory)
            }
            maps[m] = fd
        }
        // A takeover cut short: an earlier version's keys still pinned (killed between pinning
        // this version's maps and handing the link over: that version's program may still run,
        // reading keys_out, which this version does not write), or a takeover's record left
        // (killed around the link's handover, before the table was written again: a program
        // and a table of two versions). Tables written now could be misread: attaching again
        // finishes it.
        if upgradeCutShort(options) {
            for f in maps.values { close(f) }
            throw .takeoverCutShort(options.pinDirectory)
        }
        let prog = bpf_obj_get("\(options.pinDirectory)/prog")
        let dp = Dataplane(options: options, object: nil, programFD: prog, maps: maps, rules: [])
        dp.loadState()
        return dp
    }

    /// The rules installed now, in evaluation order.
    public var rules: [Rule] {
        lock.withLock { installedRules }
    }

    // MARK: Configuration

    func config() throws(DataplaneError) -> holon_config {
        var zero: UInt32 = 0
        var c = holon_config()
        try DataplaneError.check(bpf_map_lookup_elem(fd(.config), &zero, &c), "reading config")
        return c
    }

    /// Writes the config, keeping the allowlist bits the map holds now: only
    /// ``writeConfig(_:allowBits:)`` changes them, so a rule install that read the config before
    /// another process's allowlist change cannot switch a trie's lookup off again.
    func writeConfig(_ c: holon_config) throws(DataplaneError) {
        try writeConfig(c, allowBits: try config().allow)
    }

    func writeConfig(_ c: holon_config, allowBits: UInt32) throws(DataplaneError) {
        var zero: UInt32 = 0
        var c = c
        c.allow = allowBits
        try DataplaneError.check(bpf_map_update_elem(fd(.config), &zero, &c, UInt64(BPF_ANY)), "writing config")
        // This handle's own write: a slot cache that matched the map still does.
        if counterSlots.seen != nil { counterSlots.seen = Self.stamps(c) }
    }

    static func stamps(_ c: holon_config) -> [UInt64] { [c.table.0.stamp, c.table.1.stamp] }

    /// Re-reads the slot cache unless it is known to match the map (`cfg`: the config now).
    /// Called first by every install and catch-up, with the install lock held.
    func refreshCounterSlots(_ cfg: holon_config) {
        if counterSlots.seen != Self.stamps(cfg) { counterSlots.load(fd(.ruleSlots), stamps: Self.stamps(cfg), installed: installedRules) }
    }

    /// The counter slot of rule `id` (0: none, it counts by id), handed out when it has none;
    /// ``commitCounterSlots()`` records those before the table using them is enforced.
    func counterSlot(for rule: Rule) -> UInt16 {
        counterSlots.slot(for: rule.id, action: RuleCompiler.actionCode(rule.action))
    }

    func commitCounterSlots() throws(DataplaneError) {
        try counterSlots.commit(slots: fd(.ruleSlots), counters: fd(.slotCounters))
    }

    /// Sample one packet in `n` to the ring (0: none). Takes effect on the next packet.
    public func setSampleEvery(_ n: UInt32) throws(DataplaneError) {
        try exclusive { () throws(DataplaneError) in
            var c = try config()
            c.sample_every = n
            try writeConfig(c)
        }
    }

    /// Observe mode: classify and count everything, drop nothing.
    public func setObserve(_ on: Bool) throws(DataplaneError) {
        try exclusive { () throws(DataplaneError) in
            var c = try config()
            c.observe = on ? 1 : 0
            try writeConfig(c)
        }
    }

    /// The value rules see in the `direction` field (nil: packets have no direction).
    public func setDirection(_ d: UInt8?) throws(DataplaneError) {
        try exclusive { () throws(DataplaneError) in
            var c = try config()
            c.direction = d.map(UInt32.init) ?? HOLON_DIRECTION_NONE
            try writeConfig(c)
        }
    }

    /// Current sampling, observe flag and table size.
    public func settings() throws(DataplaneError) -> DataplaneSettings {
        let c = try config()
        let t = c.gen & 1 == 0 ? c.table.0 : c.table.1
        return DataplaneSettings(sampleEvery: c.sample_every, observe: c.observe != 0,
                                 direction: c.direction == HOLON_DIRECTION_NONE ? nil : UInt8(c.direction),
                                 generation: c.gen, rules: Int(t.nrules), shapes: Int(t.nshapes))
    }
}

/// The filter's knobs as read back from its config map.
public struct DataplaneSettings: Sendable, Hashable, Codable {
    public var sampleEvery: UInt32
    public var observe: Bool
    public var direction: UInt8?
    public var generation: UInt32
    public var rules: Int
    public var shapes: Int
}

extension Dataplane {
    /// NSLock.withLock loses the typed error; this keeps it.
    func locked<T>(_ body: () throws(DataplaneError) -> T) throws(DataplaneError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// `body` holding the state file's lock (when the filter is pinned) and then this handle's:
    /// every read–change–write of the config map runs under it, so that a change another
    /// process makes at the same time (a rule install flipping `gen`, an allowlist bit) is never
    /// written back over with the value read before it.
    func exclusive<T>(_ body: () throws(DataplaneError) -> T) throws(DataplaneError) -> T {
        guard let options else { return try locked(body) }
        return try RuleState.locked(options) { () throws(DataplaneError) -> T in try locked(body) }
    }
}
