import CHolonXDP
import CLibBPF
import Foundation
import Rules

// XDP attach flags from <linux/if_link.h> (not reachable through libbpf's headers).
private let xdpFlagsSKBMode: UInt32 = 1 << 1
private let xdpFlagsDrvMode: UInt32 = 1 << 2

extension Dataplane {
    /// Loads the program, attaches it to `options.interface` (native, else generic unless
    /// `generic` forces generic) through a BPF link, and pins maps, program and link.
    ///
    /// A pinned link is what keeps the filter enforcing after this process exits, and — unlike
    /// a plain attach — it cannot be left stuck: `detach` unpins and detaches it. Attaching when
    /// a live link is already pinned changes nothing and reports the existing mode, unless
    /// another version's programs run there: then this version's take over the link
    /// (``upgradeLive(_:)``, recorded in ``Dataplane/takeover``).
    public static func attach(_ options: DataplaneOptions = .standard, generic: Bool = false) throws(DataplaneError) -> (Dataplane, AttachMode) {
        try requireRoot()
        try checkInterface(options)
        try makePinDirectory(options)
        let linkPath = "\(options.pinDirectory)/link"
        if let mode = try liveAttachMode(options) { return (try upgradeLive(options), mode) }
        var dp = try loadUnattached(options)
        let mode = try inNetworkNamespace(options.namespace) { () throws(DataplaneError) -> AttachMode in
            let ifindex = if_nametoindex(options.interface)
            guard ifindex != 0 else { throw .interfaceMissing(options.interface, namespace: options.namespace) }
            func link(_ d: Dataplane, _ flags: UInt32) -> Int32 {
                var lo = bpf_link_create_opts()
                lo.sz = MemoryLayout<bpf_link_create_opts>.size
                lo.flags = flags
                return bpf_link_create(d.programFD, Int32(ifindex), BPF_XDP, &lo)
            }
            var linkFD: Int32 = -1
            var refusal: NativeRefusal?
            if !generic {
                linkFD = link(dp, xdpFlagsDrvMode)
                if linkFD < 0 {
                    let r = NativeRefusal(code: -linkFD, mtu: interfaceMTU(options.interface))
                    refusal = r
                    // Jumbo frames: the program loaded frags-aware is taken natively.
                    if r.jumbo, let multi = try? multiBufferVariant(options) {
                        let fd = link(multi, xdpFlagsDrvMode)
                        if fd >= 0 { (linkFD, dp) = (fd, multi) }
                    }
                }
            }
            let mode: AttachMode = linkFD >= 0 ? .native : .generic
            if linkFD < 0 { linkFD = link(dp, xdpFlagsSKBMode) }
            try DataplaneError.check(linkFD, "attaching XDP to \(options.interface)")
            dp.nativeRefusal = mode == .generic ? refusal : nil
            defer { close(linkFD) }
            // flow-check's egress half: without it every flow-check rule would drop everything.
            if let object = dp.object {
                do throws(DataplaneError) { try EgressHook.attach(object: object, ifindex: Int32(ifindex), interface: options.interface) } catch {
                    _ = bpf_link_detach(linkFD)
                    throw error
                }
            }
            try DataplaneError.check(bpf_obj_pin(linkFD, linkPath), "pinning the XDP link")
            unlink("\(options.pinDirectory)/prog")
            try DataplaneError.check(bpf_obj_pin(dp.programFD, "\(options.pinDirectory)/prog"), "pinning the program")
            return mode
        }
        return (dp, mode)
    }

    /// Whether the interface's MTU may bring frames of several buffers (``NativeRefusal/jumbo(mtu:)``).
    static func jumboInterface(_ options: DataplaneOptions) -> Bool {
        let mtu = try? inNetworkNamespace(options.namespace) { () throws(DataplaneError) -> Int? in interfaceMTU(options.interface) }
        return NativeRefusal.jumbo(mtu: mtu ?? nil)
    }

    /// This version's program loaded frags-aware on the filter's pinned maps, its table read:
    /// for an interface whose frames span several buffers, where drivers refuse the program as
    /// it is compiled (``EmbeddedObject/open(pinDirectory:multiBuffer:)``).
    static func multiBufferVariant(_ options: DataplaneOptions) throws(DataplaneError) -> Dataplane {
        let dp = try load(EmbeddedObject.open(pinDirectory: options.pinDirectory, multiBuffer: true), options: options)
        dp.multiBuffer = true
        return dp
    }

    /// The filter's maps and program loaded and its maps pinned (rules and settings as
    /// ``attach(_:generic:)`` keeps them), attached to nothing: for an interface that is not
    /// there yet, which `holon run --config` attaches once it appears (``LoopFilter/linkLost()``
    /// is then true). A filter with a live link is only opened.
    public static func prepare(_ options: DataplaneOptions) throws(DataplaneError) -> Dataplane {
        try requireRoot()
        try makePinDirectory(options)
        if (try? liveAttachMode(options)) ?? nil != nil { return try open(options) }
        return try loadUnattached(options)
    }

    private static func makePinDirectory(_ options: DataplaneOptions) throws(DataplaneError) {
        let root = (options.pinDirectory as NSString).deletingLastPathComponent
        try DataplaneError.check(holon_bpffs_ensure(root.isEmpty ? "/" : root), "mounting bpffs at \(root)")
        try? FileManager.default.createDirectory(atPath: options.pinDirectory, withIntermediateDirectories: true)
    }

    /// This version's program loaded on the pinned maps (created and restored from the saved
    /// table when there are none), with no link: what attaching does before it links.
    private static func loadUnattached(_ options: DataplaneOptions) throws(DataplaneError) -> Dataplane {
        unlink("\(options.pinDirectory)/link")   // a defunct link (its namespace was deleted) or none
        let fresh = !FileManager.default.fileExists(atPath: "\(options.pinDirectory)/config")
        let obj = try EmbeddedObject.open(pinDirectory: options.pinDirectory)
        let dp = try load(obj, options: options)
        if fresh {
            var c = holon_config()
            c.sample_every = options.initialSampleEvery
            c.direction = 0   // XDP sees ingress: inbound
            try dp.writeConfig(c, allowBits: dp.occupiedAllowTries())
            try dp.restoreSaved(options)
        } else if FileManager.default.fileExists(atPath: takeoverRecord(options)), dp.stateProblem == nil {
            // A takeover cut short, then its link lost (the namespace went): the pinned table
            // may be an earlier version's, written again for this program before it runs.
            try dp.replace(with: dp.rules)
        }
        unlink(takeoverRecord(options))
        return dp
    }

    /// A live filter that does not run this version's programs: a map this version has is not
    /// pinned, an earlier version's `keys_out` still is (an upgrade cut short), or the program on
    /// the link or the tc egress program is another version's (their kernel tags differ) or
    /// missing. This version's program takes over the same link (`bpf_link_update`: the
    /// interface is never without a filter), on the pinned maps — rules, counters, allowlist,
    /// settings — with the missing maps created, and pinned once the program runs. The tc egress
    /// program is replaced too; the connection state of syn-auth and flow-check lives with the
    /// programs and starts afresh. A filter already running this version's programs is only
    /// opened.
    static func upgradeLive(_ options: DataplaneOptions) throws(DataplaneError) -> Dataplane {
        // On an interface of jumbo frames the program taking the link over is frags-aware: the
        // driver refuses the link the program as compiled (as a fresh attach does, which then
        // loads this variant). Same instructions, same tag: the comparison is unchanged.
        let live = try compareWithLive(options, multiBuffer: jumboInterface(options))
        guard let reason = live.reason else { return try open(options) }   // the loaded copy goes
        let dp = live.loaded
        dp.loadState()   // left unread by the comparison, which most attaches end with
        // Recorded before anything changes, removed once this version's table is written: a
        // takeover killed in between is found cut short by the next `holon`, which refuses to
        // write tables until an attach finishes it. A takeover that fails before the link
        // changes hands leaves the earlier program as it was, and no record: the filter stays
        // usable by the commands that only open it.
        try recordTakeover(options, reason: reason)
        var handedOver = false
        defer { if !handedOver { unlink(takeoverRecord(options)) } }
        let legacyPath = "\(options.pinDirectory)/\(LegacyKeys.name)"
        let link = bpf_obj_get("\(options.pinDirectory)/link")
        try DataplaneError.check(link, "opening the pinned XDP link")
        defer { close(link) }
        // The keys of a filter from before chain heads, carried over first: the new program
        // then matches from its first packet, where it would have passed all until the rewrite.
        let legacy = bpf_obj_get(legacyPath)
        if legacy >= 0 {
            defer { close(legacy) }
            _ = try LegacyKeys.carryOver(legacy, into: dp)
        }
        try DataplaneError.check(bpf_link_update(link, dp.programFD, nil), "replacing the filter's program")
        handedOver = true
        try inNetworkNamespace(options.namespace) { () throws(DataplaneError) in
            let ifindex = if_nametoindex(options.interface)
            guard ifindex != 0 else { throw .interfaceMissing(options.interface, namespace: options.namespace) }
            if let object = dp.object {
                try EgressHook.attach(object: object, ifindex: Int32(ifindex), interface: options.interface)
            }
        }
        unlink("\(options.pinDirectory)/prog")
        try DataplaneError.check(bpf_obj_pin(dp.programFD, "\(options.pinDirectory)/prog"), "pinning the program")
        // Only now, with this program on the link: until these pins exist, the next `holon`
        // finds the filter outdated and attaches again, rather than writing tables the
        // earlier program (still running, had this been cut short) would misread.
        guard let object = dp.object else { throw .system("pinning the new maps: the object is gone", code: EBADF) }
        try EmbeddedObject.pin(object, live.added, in: options.pinDirectory)
        // The table written again, whole: every rule then carries what this version's program
        // reads of it (a counter slot from the new record, which starts empty). An earlier
        // version's counts, kept by id, still add to each rule's.
        if dp.stateProblem == nil { try dp.replace(with: dp.rules) }
        if legacy >= 0 { unlink(legacyPath) }   // no program reads it now
        unlink(takeoverRecord(options))
        dp.takeover = ProgramTakeover(previousProgram: live.previous, program: ProgramIdentity.id(fd: dp.programFD), reason: reason)
        return dp
    }

    /// This version's object loaded over the pinned maps, creating the ones missing without
    /// pinning them (its table not read: ``loadState()``), and why the live filter is not this
    /// version's (nil: it is), with the id of the program on its link.
    static func compareWithLive(_ options: DataplaneOptions, multiBuffer: Bool = false) throws(DataplaneError) -> (loaded: Dataplane, added: [String], reason: String?, previous: UInt32?) {
        let obj = try EmbeddedObject.open(pinDirectory: options.pinDirectory, multiBuffer: multiBuffer)
        let added: [String]
        do { added = try EmbeddedObject.deferPins(obj, in: options.pinDirectory) } catch {
            bpf_object__close(obj)
            throw error
        }
        let dp = try load(obj, options: options, readingState: false)
        dp.multiBuffer = multiBuffer
        let (running, previous) = ProgramIdentity.running(options)
        let reason = takeoverReason(running: running, mine: ProgramIdentity(object: obj), added: added, cutShort: upgradeCutShort(options))
        return (dp, added, reason, previous)
    }

    /// Why the attached filter does not run this version's programs (what `holon filter attach`
    /// would take over), nil when it does or nothing is attached. This version's tags come from
    /// ``ProgramTagCache`` (a few syscalls) or, when this boot has not recorded them, from
    /// loading the object (~0.1 s); either way it pins nothing and changes nothing.
    public static func outdatedReason(_ options: DataplaneOptions = .standard) throws(DataplaneError) -> String? {
        try requireRoot()
        guard try liveAttachMode(options) != nil else { return nil }
        guard let mine = ProgramTagCache.mine(options) else { return try compareWithLive(options).reason }
        return outdatedReason(options, mine: mine)
    }

    /// Why the live filter does not run the programs of `mine`, nil when it does.
    static func outdatedReason(_ options: DataplaneOptions, mine: ProgramIdentity) -> String? {
        takeoverReason(running: ProgramIdentity.running(options).identity, mine: mine,
                       added: EmbeddedObject.unpinned(in: options.pinDirectory), cutShort: upgradeCutShort(options))
    }

    /// Why the attached filter no longer runs this process's programs (another version took
    /// it over under a running `holon run`), nil when it does, when nothing is attached, or
    /// when this version's tags are not at hand (never loads the object: a loop asks it every
    /// second).
    public func programProblem() -> String? {
        guard let options, (try? Self.liveAttachMode(options)) != nil,
              let mine = object.map(ProgramIdentity.init(object:)) ?? ProgramTagCache.mine(options) else { return nil }
        return Self.outdatedReason(options, mine: mine)
    }

    /// A takeover was cut short: an earlier version's keys are still pinned, or a takeover's
    /// record is left (``recordTakeover(_:reason:)``).
    static func upgradeCutShort(_ options: DataplaneOptions) -> Bool {
        FileManager.default.fileExists(atPath: "\(options.pinDirectory)/\(LegacyKeys.name)")
            || FileManager.default.fileExists(atPath: takeoverRecord(options))
    }

    /// Where a takeover under way is recorded: beside the rule state (bpffs holds only BPF
    /// objects), gone with a reboot as the filter is.
    static func takeoverRecord(_ options: DataplaneOptions) -> String { options.stateFile + ".takeover" }

    static func recordTakeover(_ options: DataplaneOptions, reason: String) throws(DataplaneError) {
        try? FileManager.default.createDirectory(atPath: options.stateDirectory, withIntermediateDirectories: true)
        do { try Data((reason + "\n").utf8).write(to: URL(fileURLWithPath: takeoverRecord(options)), options: .atomic) } catch {
            throw .system("recording the takeover in \(takeoverRecord(options)) (nothing was changed)", code: EIO)
        }
    }

    /// Why a live filter is not this version's, in a few words; nil when it is.
    static func takeoverReason(running: ProgramIdentity, mine: ProgramIdentity, added: [String], cutShort: Bool) -> String? {
        if !added.isEmpty { return "an earlier version's filter, without \(added.joined(separator: ", "))" }
        if cutShort { return "a takeover was cut short" }
        if running.xdp != mine.xdp {
            return running.xdp.map { "another version's XDP program: tag \(ProgramIdentity.hex($0)), this version's \(mine.xdp.map(ProgramIdentity.hex) ?? "unknown")" }
                ?? "the XDP program on the link could not be read"
        }
        if running.egress != mine.egress {
            return running.egress == nil ? "the tc egress program (flow-check's half) was missing" : "another version's tc egress program"
        }
        return nil
    }

    /// The mode of the pinned link when it is alive (still bound to an interface), else nil.
    static func liveAttachMode(_ options: DataplaneOptions) throws(DataplaneError) -> AttachMode? {
        let fd = bpf_obj_get("\(options.pinDirectory)/link")
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = bpf_link_info()
        var len = UInt32(MemoryLayout<bpf_link_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &len) == 0, info.xdp.ifindex != 0 else { return nil }
        let ifindex = info.xdp.ifindex
        return try? inNetworkNamespace(options.namespace) { () throws(DataplaneError) -> AttachMode? in
            var q = bpf_xdp_query_opts()
            // Up to the last field: Swift's size of this struct counts the C tail padding, whose
            // bytes are not zeroed, and libbpf rejects non-zero bytes past the fields it knows.
            q.sz = MemoryLayout<bpf_xdp_query_opts>.offset(of: \.attach_mode)! + 1
            guard bpf_xdp_query(Int32(ifindex), 0, &q) == 0 else { return nil }
            return q.attach_mode == 2 ? .generic : .native   // XDP_ATTACHED_SKB = 2
        } ?? nil
    }

    /// A new filter takes the table a detached one left in the state directory (operators'
    /// rules survive detach/attach), less the rules whose TTL ran out meanwhile.
    func restoreSaved(_ options: DataplaneOptions) throws(DataplaneError) {
        guard let saved = try RuleState.saved(options), !saved.isEmpty else { return }
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        try replace(with: saved.filter { !$0.isExpired(at: now) })
    }

    /// Whether this handle still drives the attached filter: its maps are the pinned ones and
    /// the link is alive. False once the filter was detached (and maybe attached anew) under it.
    public func stillAttached() -> Bool {
        guard let options else { return true }
        return holdsPinnedMaps() && (try? Self.liveAttachMode(options)) != nil
    }

    /// Whether the maps pinned in the pin directory are this handle's (a transient handle's are
    /// its own): false once the filter was detached, or detached and attached anew, under it.
    func holdsPinnedMaps() -> Bool {
        guard let options else { return true }
        let pinned = bpf_obj_get("\(options.pinDirectory)/config")
        guard pinned >= 0 else { return false }
        defer { close(pinned) }
        guard let mine = Self.mapID(fd(.config)), let theirs = Self.mapID(pinned) else { return false }
        return mine == theirs
    }

    static func mapID(_ fd: Int32) -> UInt32? {
        var info = bpf_map_info()
        var len = UInt32(MemoryLayout<bpf_map_info>.size)
        return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : nil
    }

    /// Detaches the link and removes every pin. True if something was attached or pinned. Safe
    /// to call when nothing is. The rule table stays in the state directory for the next
    /// attach (`forgetRules` removes it too). Refused while a sidecar holds the filter
    /// (``FilterLease``) unless `force`: that sidecar notices and re-attaches or stops.
    @discardableResult
    public static func detach(_ options: DataplaneOptions = .standard, force: Bool = false, forgetRules: Bool = false) throws(DataplaneError) -> Bool {
        try requireRoot()
        if !force, let pid = FilterLease.holder(options) { throw .inUse(pid: pid) }
        // A table change in progress (`rules load` of a large file takes seconds) finishes
        // first, so that what it reports is what was enforced until now. Bounded: detaching is
        // the operator's way out of a filter that drops the wrong packets, and a change stuck
        // holding the lock must not hold it up; such a change finds the filter gone and says so.
        var found = false
        try RuleState.afterChangeInProgress(options, waitingAtMost: detachWaitSeconds) { () throws(DataplaneError) in
            found = removePins(options, forgetRules: forgetRules)
        }
        return found
    }

    /// How long ``detach(_:force:forgetRules:)`` waits for a table change in progress.
    static let detachWaitSeconds = 10.0

    private static func removePins(_ options: DataplaneOptions, forgetRules: Bool) -> Bool {
        let dir = options.pinDirectory
        var found = false
        let linkFD = bpf_obj_get("\(dir)/link")
        if linkFD >= 0 {
            found = true
            _ = bpf_link_detach(linkFD)   // fails harmlessly on a defunct link
            close(linkFD)
            // The egress program went on with the link; without one there is none of ours (and
            // asking an interface with no tc hook makes libbpf print a kernel complaint).
            _ = try? inNetworkNamespace(options.namespace) { () throws(DataplaneError) in
                let ifindex = if_nametoindex(options.interface)
                if ifindex != 0 { EgressHook.detach(ifindex: Int32(ifindex)) }
            }
        }
        if let names = try? FileManager.default.contentsOfDirectory(atPath: dir) {
            found = found || !names.isEmpty
            for n in names { unlink("\(dir)/\(n)") }
            rmdir(dir)
        }
        unlink(takeoverRecord(options))   // whatever was cut short went with the pins
        if forgetRules {
            unlink(options.stateFile)
            unlink(options.stateFile + ".tmp")
            unlink(RuleJournal.path(options))
            unlink(staticRecordPath(options))
            // The lease's file too, unless a sidecar still holds it (a new file would let a
            // second sidecar in beside it).
            if FilterLease.holder(options) == nil { unlink(FilterLease.path(options)) }
        }
        unlink(options.stateFile + ".lock")
        return found
    }

    /// What is attached where. Loads nothing onto the interface: this version's object is
    /// loaded only to compare its programs' tags with the running ones.
    public static func status(_ options: DataplaneOptions = .standard) throws(DataplaneError) -> FilterStatus {
        try requireRoot()
        var s = FilterStatus(pinDirectory: options.pinDirectory, namespace: options.namespace, interface: options.interface)
        s.pinned = FileManager.default.fileExists(atPath: "\(options.pinDirectory)/config")
        s.mode = try liveAttachMode(options)
        s.attached = s.mode != nil
        let prog = bpf_obj_get("\(options.pinDirectory)/prog")
        if prog >= 0 {
            s.programID = ProgramIdentity.id(fd: prog)
            close(prog)
        }
        if s.pinned, let dp = try? open(options) {
            s.settings = try? dp.settings()
            s.stats = try? dp.stats()
            s.stateProblem = dp.stateProblem?.description
            s.allowlist = dp.allowlisted().map(\.description)
        }
        s.sidecarPID = FilterLease.holder(options)
        if s.attached {
            do { s.outdated = try outdatedReason(options) } catch { s.outdated = "this version cannot load over its maps: \(error)" }
        }
        return s
    }
}

/// `holon filter status`.
public struct FilterStatus: Sendable, Codable {
    public var pinDirectory: String
    public var namespace: String?
    public var interface: String
    public var attached = false
    public var mode: AttachMode?
    public var pinned = false
    public var programID: UInt32?
    public var settings: DataplaneSettings?
    public var stats: DataplaneStats?
    /// Why the rule state file does not describe the filter's table, when it does not.
    public var stateProblem: String?
    /// The `holon run` protecting this filter.
    public var sidecarPID: Int32?
    /// The sources it always passes (nil when its maps cannot be read).
    public var allowlist: [String]?
    /// Why the filter does not run this version's programs (`holon filter attach` takes it
    /// over); nil when it does.
    public var outdated: String?
}
