import Config
import Dataplane
import Foundation
import Logging
import Rules
import Sidecar

/// What `holon run` protects and how: the configuration file's keys, then the flags over them.
struct RunPlan {
    var config: HolonConfig
    /// Given a configuration file: the daemon attaches its interfaces itself and applies the
    /// allowlist, observe mode and static rules; without one, the filter is used as it is.
    var daemon: Bool
    var targets: [(options: DataplaneOptions, generic: Bool)]

    var sidecar: SidecarConfig {
        var s = SidecarConfig()
        s.sampleEvery = config.sampleEvery
        s.detector.warmup = config.warmup
        s.hold = config.hold
        s.maxRules = config.maxRules
        s.dryRun = config.dryRun
        s.protected = config.protected
        s.baselineMaxAge = config.baselineMaxAge
        return s
    }

    /// Where one filter's baseline is kept: a directory per filter, named as its pins are
    /// (`holon` for the lab's, `holon:eth0`, `holon:NS:eth0`).
    func baselinePath(_ dp: Dataplane) -> String? {
        guard let pins = dp.options?.pinDirectory else { return nil }
        return "\(config.stateDirectory)/\((pins as NSString).lastPathComponent)/baseline.bin"
    }

    /// The filter of each target, attached when the daemon runs from a configuration file,
    /// with the configuration's policy applied.
    func openFilters() throws -> [Dataplane] {
        try targets.map { t in
            let dp: Dataplane
            if daemon {
                // Another daemon protects it: attaching is harmless, but this one's policy
                // (allowlist, observe, static rules) would overwrite the running one's before its
                // loop is refused the filter. Refused first, nothing changed.
                if let pid = FilterLease.holder(t.options) {
                    throw InputError("holon run (pid \(pid)) already protects \(t.options.interface)\(t.options.namespace.map { " in netns \($0)" } ?? ""): stop it first (nothing was changed)")
                }
                do throws(DataplaneError) {
                    let (d, mode) = try Dataplane.attach(t.options, generic: t.generic)
                    if mode == .generic && !t.generic {
                        FileHandle.standardError.write("holon run: warning: \(NativeRefusal.genericWarning(d.nativeRefusal, interface: t.options.interface))\n".data(using: .utf8)!)
                    }
                    if let took = d.takeover {
                        FileHandle.standardError.write("holon run: took over \(t.options.interface)'s filter from \(took.previousProgram.map { "program id \($0)" } ?? "the program before") (\(took.reason)); rules and counters kept\n".data(using: .utf8)!)
                    }
                    dp = d
                } catch .interfaceMissing, .namespaceMissing {
                    // Not there yet (a hot-plugged NIC, a VLAN or namespace made later): the other
                    // interfaces are protected meanwhile, and its loop attaches this one when it
                    // appears, as after an interface that went away.
                    dp = try dataplaneStep { () throws(DataplaneError) in try Dataplane.prepare(t.options) }
                    FileHandle.standardError.write("holon run: warning: \(t.options.interface)\(t.options.namespace.map { " in netns \($0)" } ?? "") is not there: nothing is enforced on it; its filter is ready and attached as soon as it appears\n".data(using: .utf8)!)
                } catch {
                    throw dataplaneFailure(error)
                }
                if let merge = try applyPolicy(dp) {
                    // stderr, as the start's other lines: stdout may be JSON lines (`log: json`).
                    FileHandle.standardError.write("holon run: \(t.options.interface): \(merge.summary)\n".data(using: .utf8)!)
                }
            } else {
                let o = t.options
                dp = try dataplaneStep { () throws(DataplaneError) in try Dataplane.open(o) }
                // Protecting a filter of another version works (same maps), but with that
                // version's program: said, since only `filter attach` replaces it.
                if let why = try? Dataplane.outdatedReason(o) {
                    FileHandle.standardError.write("holon run: warning: \(outdatedWarning(o, why))\n".data(using: .utf8)!)
                }
            }
            return dp
        }
    }

    /// Allowlist, observe mode and static rules from the configuration, into one filter. Also
    /// what SIGHUP re-applies. The static rules file changes only its own rules
    /// (``StaticRulesMerge``): the live loop's rules and those operators added while it ran are
    /// kept. Returns what the file changed, nil without one.
    @discardableResult
    func applyPolicy(_ dp: Dataplane) throws -> StaticRulesMerge? {
        let statics = try config.staticRules.map(staticRules) ?? []
        return try dataplaneStep { () throws(DataplaneError) -> StaticRulesMerge? in
            dp.clearAllowlist()
            try dp.allow(config.allowlist)
            try dp.setObserve(config.observe)
            guard config.staticRules != nil else { return nil }
            let previous = dp.staticRuleIDs()
            var merge: StaticRulesMerge?
            try dp.update { table in
                let m = StaticRulesMerge(table: table, statics: statics, previous: previous)
                merge = m
                return m.rules
            }
            try dp.recordStaticRuleIDs(statics.map(\.id))
            return merge
        }
    }
}

extension SidecarEvent {
    /// How loud an event is in a log: what an operator must act on is a warning.
    var logLevel: Logger.Level {
        switch self {
        case .refused: return .warning
        case .notice(let kind, _):
            return ["filter-lost", "filter-program-changed", "baseline-save-failed", "baseline-ignored", "false-positive", "reload-refused", "samples-lost", "outside-protected", "state-unwritable"].contains(kind) ? .warning : .notice
        case .opened, .installed, .closed, .removed, .adopted: return .notice
        default: return .info
        }
    }
}
