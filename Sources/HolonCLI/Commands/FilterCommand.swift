import ArgumentParser
import Dataplane
import Foundation

struct FilterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter",
        abstract: "Attach, inspect or detach the XDP filter of an interface (default: the lab's holon-in in holon-filter).",
        subcommands: [FilterAttach.self, FilterDetach.self, FilterStatusCommand.self, FilterSet.self, FilterAllow.self]
    )
}

/// Runs a data-plane step, turning DataplaneError into a clean message and exit status.
func dataplaneStep<T>(_ body: () throws(DataplaneError) -> T) throws -> T {
    do { return try body() } catch {
        throw dataplaneFailure(error)
    }
}

/// A data-plane error said on one line; the command then exits 1.
func dataplaneFailure(_ error: DataplaneError) -> ExitCode {
    FileHandle.standardError.write("holon: \(error)\n".data(using: .utf8)!)
    return ExitCode.failure
}

struct FilterAttach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Load and attach the filter (native XDP, else generic); pins keep it running after exit.")
    @Flag(help: "Force generic (skb) mode.") var generic = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        let o = target.options
        let (dp, mode) = try dataplaneStep { () throws(DataplaneError) in try Dataplane.attach(o, generic: generic) }
        let rules = dp.stateProblem == nil ? "\(dp.rules.count)" : "unknown"
        if json {
            var out = ["attached": "true", "mode": mode.rawValue, "interface": o.interface, "pins": o.pinDirectory, "rules": rules]
            if let t = dp.takeover { out["tookOver"] = t.reason }
            printJSON(out)
        } else {
            print("attached to \(o.interface) in \(o.namespace ?? "the host namespace") (\(mode.rawValue) XDP\(dp.multiBuffer ? ", taking multi-buffer frames" : "")), pinned in \(o.pinDirectory); \(rules) rules")
            if let t = dp.takeover {
                // Said, not silent: the running filter changed program (its connection state too).
                print("took over from \(t.previousProgram.map { "program id \($0)" } ?? "the program before") (\(t.reason)): now program id \(t.program.map(String.init) ?? "?"), on the same link, rules and counters kept")
            }
            if mode == .generic && !generic {
                // Said loudly: generic XDP runs after the kernel built an skb, at a fraction of native speed.
                FileHandle.standardError.write("holon: warning: \(NativeRefusal.genericWarning(dp.nativeRefusal, interface: o.interface))\n".data(using: .utf8)!)
            }
            if let p = dp.stateProblem { FileHandle.standardError.write("holon: warning: \(p)\n".data(using: .utf8)!) }
        }
    }
}

struct FilterDetach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Detach the filter and remove every pin; its rules are kept for the next attach.")
    @Flag(help: "Detach even while `holon run` protects the filter (it re-attaches to the next filter, or stops).") var force = false
    @Flag(help: "Also forget the rule table (the next attach starts empty).") var forgetRules = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        let o = try target.existing()
        let found = try dataplaneStep { () throws(DataplaneError) in
            try Dataplane.detach(o, force: force, forgetRules: forgetRules)
        }
        // Named: without --interface, the filter detached is the one found pinned.
        if json {
            struct Detached: Encodable { var detached: Bool; var interface: String; var netns: String?; var pins: String }
            printJSON(Detached(detached: found, interface: o.interface, netns: o.namespace, pins: o.pinDirectory))
        } else {
            print(found ? "detached \(o.interface)'s filter" : "nothing was attached to \(o.interface)")
        }
    }
}

struct FilterStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Attachment, settings and counters of every protected interface (or the one --interface names).")
    @Flag(help: "Print JSON (an array, one object per filter).") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        // Without --interface: every filter pinned on this host, and the lab's even when absent
        // (so "not attached" is still an answer).
        var targets = target.interface == nil ? DataplaneOptions.pinned() : [target.options]
        if targets.isEmpty { targets = [.standard] }
        let all = try targets.map { o in try dataplaneStep { () throws(DataplaneError) in try Dataplane.status(o) } }
        if json { printJSON(all); return }
        for (k, s) in all.enumerated() {
            if k > 0 { print("") }
            print(Self.render(s))
        }
    }

    static func render(_ s: FilterStatus) -> String {
        var lines = ["\(s.interface) in \(s.namespace ?? "the host namespace"): "
                     + (s.attached ? "attached (\(s.mode!.rawValue) XDP)" : "not attached")
                     + (s.programID.map { ", program id \($0)" } ?? "") + ", pins \(s.pinDirectory)"]
        // Pinned with no link: the interface (or its namespace) went away under the filter.
        if !s.attached && s.pinned {
            let o = DataplaneOptions.protecting(interface: s.interface, namespace: s.namespace)
            lines.append("  NOT ENFORCING: its link went (the interface was deleted or reset, or its namespace); `\(o.attachCommand)` attaches it again, rules kept"
                         + (s.sidecarPID != nil ? " (holon run --config does it itself when the interface is back)" : ""))
        }
        if let p = s.stateProblem { lines.append("  RULE STATE: \(p)") }
        if let o = s.outdated { lines.append("  PROGRAM: \(o); \(takeoverHint(.protecting(interface: s.interface, namespace: s.namespace)))") }
        if let pid = s.sidecarPID { lines.append("  protected by holon run (pid \(pid))") }
        if let c = s.settings {
            lines.append("  rules: \(c.rules) in \(c.shapes) shape\(c.shapes == 1 ? "" : "s"), generation \(c.generation); sampling 1 in \(c.sampleEvery)"
                         + (c.observe ? "; OBSERVE mode (nothing dropped)" : ""))
        }
        if let a = s.allowlist {
            lines.append("  allowlist: " + (a.isEmpty ? "none" : "\(a.count) prefix\(a.count == 1 ? "" : "es"): " + a.prefix(8).joined(separator: ", ") + (a.count > 8 ? ", …" : "")))
        }
        if let st = s.stats {
            lines.append("  packets \(st.packets)  passed \(st.passed)  dropped \(st.dropped) (rate-limited \(st.rateLimited))"
                         + "  matched \(st.matched)  allowlisted \(st.allowlisted)  unparsed \(st.unparsed)")
            lines.append("  observed drops \(st.observedDrops)  sampled \(st.sampled)  ring full \(st.ringFull)")
        }
        return lines.joined(separator: "\n")
    }
}

struct FilterSet: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Change sampling or observe mode live.")
    @Option(help: "Sample one packet in N (1…1000000).") var sampleEvery: UInt32?
    @Flag(help: "Stop sampling (holon run then sees nothing).") var noSampling = false
    @Option(help: "Observe mode: count but never drop (on/off).") var observe: String?
    func validate() throws {
        if let n = sampleEvery, !(1...1_000_000).contains(n) {
            throw ValidationError("--sample-every must be 1…1000000 (one packet in N), got \(n); --no-sampling stops sampling")
        }
        if sampleEvery != nil && noSampling { throw ValidationError("--sample-every and --no-sampling contradict each other") }
        if let o = observe, o != "on" && o != "off" { throw ValidationError("--observe takes on or off, got '\(o)'") }
        if sampleEvery == nil && !noSampling && observe == nil { throw ValidationError("nothing to set: --sample-every N, --no-sampling or --observe on|off") }
    }
    @OptionGroup var target: TargetOptions
    func run() throws {
        let dp = try openFilter(target)
        if let n = sampleEvery ?? (noSampling ? 0 : nil) {
            // The loop's detector scales every rate by the sampling it set: another would make
            // its numbers wrong, and none would blind it, without a word.
            if let o = dp.options, let pid = FilterLease.holder(o) {
                throw InputError("holon run (pid \(pid)) samples \(o.interface) for its detector, whose rates assume its own sampling: "
                                 + "change run.sample_every (or --sample-every) and restart it; nothing was changed")
            }
            try dataplaneStep { () throws(DataplaneError) in try dp.setSampleEvery(n) }
        }
        if let o = observe {
            try dataplaneStep { () throws(DataplaneError) in try dp.setObserve(o == "on") }
        }
        enforced(dp)
    }
}

struct FilterAllow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "allow", abstract: "Allowlist source prefixes (always pass).")
    @Argument(help: "Prefixes such as 10.0.0.0/8 or 2001:db8::/32.") var prefixes: [String] = []
    @Flag(help: "Empty the allowlist first.") var clear = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        let parsed = try prefixes.map { p -> AllowPrefix in
            guard let a = AllowPrefix(p) else { throw ValidationError("not a prefix: \(p)") }
            return a
        }
        let dp = try openFilter(target)
        if clear { dp.clearAllowlist() }
        try dataplaneStep { () throws(DataplaneError) in try dp.allow(parsed) }
        enforced(dp)
    }
}
