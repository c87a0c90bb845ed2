import ArgumentParser
import Dataplane
import Foundation
import Packets
import Rules

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Change the attached filter's rule table (every change replaces it atomically).",
        subcommands: [RulesAdd.self, RulesDel.self, RulesList.self, RulesLoad.self, RulesRelease.self, RulesPin.self, RulesExport.self]
    )
}

func openFilter(_ target: TargetOptions) throws -> Dataplane {
    let o = try target.existing()
    do {
        let dp = try Dataplane.open(o)
        // Tables this version writes, read by another version's program: said on every command
        // that opens the filter, since only `filter attach` (or `holon run` with a configuration)
        // replaces the program.
        if let why = try? Dataplane.outdatedReason(o) {
            FileHandle.standardError.write("holon: warning: \(outdatedWarning(o, why))\n".data(using: .utf8)!)
        }
        return dp
    } catch {
        // The way back (not attached, an earlier version's filter, a takeover cut short) names
        // the same filter, not the lab's.
        FileHandle.standardError.write("holon: \(error.described(attach: o.attachCommand))\n".data(using: .utf8)!)
        throw ExitCode.failure
    }
}

/// What a command that finds `o`'s filter running another version's program says, `why`
/// being ``Dataplane/outdatedReason(_:)``.
func outdatedWarning(_ o: DataplaneOptions, _ why: String) -> String {
    "\(o.interface)'s filter does not run this version's program (\(why)); \(takeoverHint(o))"
}

/// How another version's program is replaced, keeping the table.
func takeoverHint(_ o: DataplaneOptions) -> String { "`\(o.attachCommand)` takes it over, rules kept" }

/// Whether the filter `dp` just changed (its table, allowlist or settings) is enforced: false
/// when its link is gone (its interface deleted, or moved to another namespace) while its pins
/// stay, then said on stderr. The change is kept for the next `filter attach`, but "the filter
/// now enforces" would be a lie. `kept`: what the warning says stays (the change, the table).
@discardableResult
func enforced(_ dp: Dataplane, kept: String = "the change is kept with it") -> Bool {
    if dp.stillAttached() { return true }
    let o = dp.options ?? .standard
    FileHandle.standardError.write(("holon: warning: the filter pinned in \(o.pinDirectory) is not attached to \(o.interface) (was the interface "
        + "deleted or moved?): \(kept), but nothing enforces it; `\(o.attachCommand)` attaches it again as it is\n").data(using: .utf8)!)
    return false
}

/// "the filter now enforces 3 rules", or, when nothing does, what the table holds.
func tableAfter(_ n: Int, enforced: Bool) -> String {
    "\(enforced ? "the filter now enforces" : "the table, not enforced, holds") \(n) rule\(n == 1 ? "" : "s")"
}

/// One line saying what a table change did: which ids came and went, and the table after.
func printChange(_ r: InstallReport, before: [Rule], after: [Rule], enforced: Bool, json: Bool) {
    let (added, removed, changed) = idChanges(before: before, after: after)
    if json {
        struct Change: Encodable { var added: [UInt32]; var removed: [UInt32]; var changed: [UInt32]; var enforced: Bool; var install: InstallReport }
        printJSON(Change(added: added, removed: removed, changed: changed, enforced: enforced, install: r))
        return
    }
    func ids(_ verb: String, _ l: [UInt32]) -> String? {
        l.isEmpty ? nil : "\(verb) \(l.count) (id\(l.count == 1 ? "" : "s") \(l.prefix(8).map(String.init).joined(separator: ", "))\(l.count > 8 ? ", …" : ""))"
    }
    let what = [ids("added", added), ids("removed", removed), ids("changed", changed)].compactMap { $0 }
    print((what.isEmpty ? "no change" : what.joined(separator: ", "))
          + "; \(tableAfter(r.rules, enforced: enforced)) in \(r.shapes) shape\(r.shapes == 1 ? "" : "s") ("
          + String(format: "%.1f", Double(r.nanoseconds) / 1e6) + " ms)")
}

/// The ids `after` adds to `before`, removes and changes, each in increasing order: both tables
/// walked in id order side by side. Sets of both tables' ids and a dictionary of one took 1.1 s
/// of a fresh `holon rules add` to a million rules (a scan per rule, before those, 19 s at 100k);
/// a table is mostly in id order already, and sorting one that is costs a pass.
func idChanges(before: [Rule], after: [Rule]) -> (added: [UInt32], removed: [UInt32], changed: [UInt32]) {
    let beforeIDs = before.map(\.id), afterIDs = after.map(\.id)
    let b = beforeIDs.indices.sorted { beforeIDs[$0] < beforeIDs[$1] }
    let a = afterIDs.indices.sorted { afterIDs[$0] < afterIDs[$1] }
    var added: [UInt32] = [], removed: [UInt32] = [], changed: [UInt32] = []
    var i = 0, j = 0
    while i < b.count || j < a.count {
        if j == a.count || (i < b.count && beforeIDs[b[i]] < afterIDs[a[j]]) {
            removed.append(beforeIDs[b[i]])
            i += 1
        } else if i == b.count || afterIDs[a[j]] < beforeIDs[b[i]] {
            added.append(afterIDs[a[j]])
            j += 1
        } else {
            if before[b[i]] != after[a[j]] { changed.append(afterIDs[a[j]]) }
            i += 1
            j += 1
        }
    }
    return (added, removed, changed)
}

/// Rules an operator gave, parsed and checked; a one-line error naming `source` otherwise.
func operatorRules(_ text: String, source: String, matchAll: Bool, allowEmpty: Bool = false) throws -> [Rule] {
    RuleFile.numbered(try operatorRuleEntries(text, source: source, matchAll: matchAll, allowEmpty: allowEmpty), besides: [])
}

/// The rules of `text`, checked, with the ids of those written without `:id` still to give
/// (`holon rules add` gives them next to the table's own).
func operatorRuleEntries(_ text: String, source: String, matchAll: Bool, allowEmpty: Bool = false) throws -> [RuleFile.Entry] {
    let entries: [RuleFile.Entry]
    do { entries = try RuleFile.entries(text) } catch {
        throw InputError("\(source): \(error)")
    }
    if let problem = OperatorRuleProblem.check(RuleFile.numbered(entries, besides: []), allowMatchAll: matchAll, allowEmpty: allowEmpty) {
        throw InputError("\(source): \(problem)")
    }
    return entries
}

/// The text of a rule file, `-` for standard input (a pipe works).
func readRuleText(_ path: String) throws -> String {
    let data: Data
    if path == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InputError("cannot read \(path): \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do { data = try handle.readToEnd() ?? Data() } catch {
            throw InputError("cannot read \(path): \(String(cString: strerror(errno == 0 ? EIO : errno)))")
        }
    }
    guard let text = String(data: data, encoding: .utf8) else { throw InputError("\(path): not UTF-8 text") }
    return text
}

struct RulesAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add rules written in the rule language.",
        discussion: """
        A rule added here stays until deleted: through restarts of holon run, its reloads (the \
        configuration's static_rules change only the file's own rules) and a detach and attach, \
        but not a reboot. Rules that must survive one belong in the static_rules file.
        """)
    @Argument(help: "One rule per argument, e.g. '(rule (and (= proto udp) (= src_port 53)) (rate-limit 5000))'; one without :id gets the next free id.")
    var rules: [String]
    @Flag(help: "Allow a rule without predicates (it matches every packet).") var matchAll = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        let entries = try operatorRuleEntries(rules.joined(separator: "\n"), source: "rule", matchAll: matchAll)
        let dp = try Stage.run("reading the filter's table") { try openFilter(target) }
        let installed = Set(dp.rules.map(\.id))
        if let taken = entries.first(where: { $0.hasID && installed.contains($0.rule.id) })?.rule.id {
            throw InputError("rule \(taken) is installed already: `holon rules del \(taken)` first, or leave out :id to get a free one")
        }
        var before: [Rule] = []
        let r = try Stage.run("installing") {
            try dataplaneStep { () throws(DataplaneError) in
                try dp.update { current throws(DataplaneError) in
                    before = current
                    // Numbered against the table as it is under the lock, not as it was read.
                    return current + RuleFile.numbered(entries, besides: Set(current.map(\.id)), below: RuleOwnership.sidecarBase)
                }
            }
        }
        printChange(r, before: before, after: dp.rules, enforced: enforced(dp), json: json)
        suggestInPlace(dp, seconds: Double(r.nanoseconds) / 1e9, api: "POST /api/rules")
    }
}

/// A fresh process does not know the table's layout and rebuilds it whole (17 s at 2M rules);
/// the running `holon run` changes it in place in milliseconds. Said when the change was slow
/// and one runs, so an operator scripting many changes knows the faster way.
func suggestInPlace(_ dp: Dataplane, seconds: Double, api: String) {
    guard seconds >= 1, let o = dp.options, let pid = FilterLease.holder(o) else { return }
    FileHandle.standardError.write(String(format: "holon rules: note: this change took %.1f s (a fresh process rebuilds the whole table); holon run (pid %d) changes it in place in milliseconds: %@ on its dashboard's address\n",
                                          seconds, pid, api).data(using: .utf8)!)
}

struct RulesDel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete rules by id (exit 1 if one is not installed).")
    @Argument(help: "Rule ids.") var ids: [UInt32]
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        guard !ids.isEmpty else { throw InputError("no rule ids given") }
        let dp = try Stage.run("reading the filter's table") { try openFilter(target) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let missing = try Stage.run("installing") { try dataplaneStep { () throws(DataplaneError) in try dp.delete(ids: Set(ids)) } }
        suggestInPlace(dp, seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, api: "DELETE /api/rules/ID")
        struct Deleted: Encodable { var deleted: [UInt32]; var missing: [UInt32]; var enforced: Bool }
        let deleted = ids.filter { !missing.contains($0) }
        let isEnforced = enforced(dp)
        if json { printJSON(Deleted(deleted: deleted, missing: missing.sorted(), enforced: isEnforced)) }
        else if !deleted.isEmpty {
            print("deleted \(deleted.map(String.init).joined(separator: ", ")); \(tableAfter(dp.rules.count, enforced: isEnforced))")
        }
        // The configuration's static_rules put theirs back at the next reload or restart.
        let fromFile = deleted.filter { dp.staticRuleIDs()?.contains($0) == true }
        if !fromFile.isEmpty {
            FileHandle.standardError.write("holon rules del: note: \(fromFile.map(String.init).joined(separator: ", ")) came from the configuration's static_rules file: holon run puts \(fromFile.count == 1 ? "it" : "them") back at its next reload or restart unless removed from the file\n".data(using: .utf8)!)
        }
        if !missing.isEmpty {
            FileHandle.standardError.write("holon rules del: not installed: \(missing.sorted().map(String.init).joined(separator: " "))\n".data(using: .utf8)!)
            throw ExitCode.failure
        }
    }
}

/// Changes rules of the live loop named by `ids` (an error names ids that are not its rules)
/// and prints what changed: the one path of `release` and `pin`.
func changeSidecarRules(_ ids: [UInt32], target: TargetOptions, json: Bool, _ change: @escaping (Set<UInt32>, [Rule]) -> [Rule]) throws {
    guard !ids.isEmpty else { throw ValidationError("no rule ids given") }
    let dp = try openFilter(target)
    let table = try dataplaneStep { () throws(DataplaneError) in try dp.verifiedRules() }
    let wanted = Set(ids)
    let wrong = wanted.subtracting(table.filter { RuleOwnership.isSidecar($0.id) }.map(\.id))
    guard wrong.isEmpty else {
        throw InputError("not rules of holon run in the table: \(wrong.sorted().map(String.init).joined(separator: ", ")) (operators' rules go with `holon rules del`)")
    }
    var before: [Rule] = []
    let r = try dataplaneStep { () throws(DataplaneError) in
        try dp.update { current in
            before = current
            return change(wanted, current)
        }
    }
    printChange(r, before: before, after: dp.rules, enforced: enforced(dp), json: json)
}

struct RulesRelease: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Take rules of holon run out of the filter now (a false positive); it does not derive the same match again for 10 minutes.")
    @Argument(help: "Rule ids (1000000000 and up).") var ids: [UInt32]
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        try changeSidecarRules(ids, target: target, json: json) { gone, current in current.filter { !gone.contains($0.id) } }
    }
}

struct RulesPin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin",
        abstract: "Keep rules of holon run past their TTL and the attack: they become yours (remove them with `holon rules del`).")
    @Argument(help: "Rule ids (1000000000 and up).") var ids: [UInt32]
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        // No TTL is what marks a pinned rule: holon run neither expires nor adopts it.
        try changeSidecarRules(ids, target: target, json: json) { pinned, current in
            current.map { rule in
                guard pinned.contains(rule.id) else { return rule }
                var r = rule
                r.ttlSeconds = nil
                return r
            }
        }
    }
}

struct RulesList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List installed rules with their counters.")
    @Flag(help: "Print JSON (rules with hits and drops).") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        let dp = try Stage.run("reading the filter's table") { try openFilter(target) }
        // The maps are the truth: a state file that does not describe them is an error, not a list.
        let rules = try dataplaneStep { () throws(DataplaneError) in try dp.verifiedRules() }
        enforced(dp, kept: "its table is kept")
        // Every hit rule's counters at once (a rule never hit has none): a lookup per rule was
        // 100k system calls for a 100k-rule table.
        let counters = dp.allCounters()
        if json {
            struct Entry: Encodable { var rule: Rule; var hits: UInt64; var drops: UInt64 }
            printJSONArray(rules.map { r in
                let c = counters[r.id] ?? RuleCounters()
                return Entry(rule: r, hits: c.hits, drops: c.drops)
            })
            return
        }
        if rules.isEmpty { print("no rules: the filter passes everything it does not allowlist") }
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        var out = BufferedOutput()
        for r in rules {
            let c = counters[r.id] ?? RuleCounters()
            // The kernel stops matching a rule at its TTL; it stays listed until removed.
            let expiry = r.expiresAt.map { $0 <= now ? "; EXPIRED (no longer matches)" : String(format: "; expires in %.0f s", Double($0 - now) / 1e9) } ?? ""
            out.write("\(r.text)    ; hits \(c.hits) drops \(c.drops)\(expiry)\n")
        }
        out.flush()
    }
}

struct RulesLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Replace the operators' rules with the rules of a file ('-': standard input).",
        discussion: """
        The live loop's rules (ids from 1,000,000,000) stay. --replace-all replaces the whole table, \
        whatever the state file says: the way back when `holon rules list` reports that the state \
        does not match the filter. An empty file empties the table only with --replace-all.
        """
    )
    @Argument(help: "A rule file: one rule per line, ';' comments; '-' reads standard input.") var file: String
    @Flag(help: "Replace the whole table (the live loop's rules too), even when the state file does not match it.") var replaceAll = false
    @Flag(help: "Allow rules without predicates (they match every packet).") var matchAll = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var target: TargetOptions
    func run() throws {
        let source = file == "-" ? "standard input" : file
        let parsed = try Stage.run("reading \(source)") {
            try operatorRules(try readRuleText(file), source: source, matchAll: matchAll, allowEmpty: true)
        }
        if parsed.isEmpty && !replaceAll {
            throw InputError("\(source) holds no rules; loading it would empty the table: pass --replace-all if that is meant")
        }
        let dp = try Stage.run("reading the filter's table") { try openFilter(target) }
        // The table replaced as read under the lock: another change may land while this one
        // waits for its turn, and the diff printed must be the one this load made.
        var before: [Rule] = []
        let r: InstallReport = try Stage.run("installing \(parsed.count) rules") {
            if replaceAll {
                return try dataplaneStep { () throws(DataplaneError) in try dp.replace(with: parsed) { before = $0 ?? [] } }
            }
            return try dataplaneStep { () throws(DataplaneError) in
                try dp.update { current in
                    before = current
                    return current.filter { RuleOwnership.isSidecar($0.id) } + parsed
                }
            }
        }
        printChange(r, before: before, after: dp.rules, enforced: enforced(dp), json: json)
    }
}

struct RulesExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the rules as an nftables ruleset, or as BGP Flowspec commands for gobgp or ExaBGP.",
        discussion: """
        Reads the attached filter's table, or --from a rule file. The ruleset replaces its own \
        table when loaded (`nft -f FILE`), so loading a newer export swaps the rules atomically. \
        --flowspec gobgp prints one `gobgp global rib … add match … then …` command per rule, \
        --flowspec exabgp one ExaBGP API line; a rule Flowspec cannot carry exactly (ttl, ip_id, \
        tcp_window, …; a pass or count rule) is listed as a comment with the reason (the live \
        loop widens such rules only against its baseline, which an export does not have). \
        A rate limit of N pps becomes N × --packet-bytes bytes/s (RFC 8955 counts bytes). \
        The allowlist (the attached filter's, or --allowlist) is accepted before the rules in \
        the ruleset, as the filter passes it; Flowspec has no exception, so a rule that could \
        match an allowlisted source, or that a pass rule above it carves from, is listed as a \
        comment instead.
        """
    )
    @Option(help: ArgumentHelp("BGP Flowspec commands instead of nftables: gobgp or exabgp.", valueName: "SPEAKER")) var flowspec: String?
    @Option(help: "Flowspec: the packet size a rate limit's pps are multiplied by (bytes/s).") var packetBytes = 1500
    @Option(help: "Output format (nft).") var format = "nft"
    @Option(help: "A rule file to export instead of the attached filter's table.") var from: String?
    @Option(help: "Hook this device's ingress (netdev family) instead of inet prerouting.") var device: String?
    @Option(help: "nftables table name.") var table = "holon"
    @Option(help: "Write to this file (atomically) instead of standard output.") var out: String?
    @Option(help: ArgumentHelp("Sources always passed, as the host's allowlist (default: the attached filter's; none with --from).", valueName: "PREFIX"))
    var allowlist: [String] = []

    @OptionGroup var target: TargetOptions
    func run() throws {
        guard format == "nft" || format == "nftables" else { throw InputError("unknown --format '\(format)': use nft") }
        var allowed: [IPPrefix] = []
        for text in allowlist.flatMap({ $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }) {
            guard let p = IPPrefix(text) else { throw InputError("--allowlist: '\(text)' is not an address or prefix") }
            allowed.append(p)
        }
        guard flowspec == nil || ["gobgp", "exabgp"].contains(flowspec!) else { throw InputError("unknown --flowspec '\(flowspec!)': use gobgp or exabgp") }
        guard (20...65535).contains(packetBytes) else { throw InputError("--packet-bytes must be 20…65535, got \(packetBytes)") }
        let rules: [Rule]
        if let from {
            let text: String
            do { text = try String(contentsOfFile: from, encoding: .utf8) } catch {
                throw InputError("cannot read \(from): \(error.localizedDescription)")
            }
            do { rules = try RuleFile.parse(text) } catch { throw InputError("\(from): \(error)") }
        } else {
            let dp = try openFilter(target)
            rules = try dataplaneStep { () throws(DataplaneError) in try dp.verifiedRules() }
            if allowlist.isEmpty { allowed = dp.allowlisted() }
        }
        let text: String
        if let speaker = flowspec {
            text = FlowspecExport.commands(rules, speaker: speaker, packetBytes: packetBytes, allowlist: allowed)
        } else { do { text = try NftablesExport.ruleset(rules, table: table, device: device, allowlist: allowed) } catch {
            FileHandle.standardError.write("holon rules export: \(error)\n".data(using: .utf8)!)
            throw ExitCode.failure
        } }
        guard let out else { print(text, terminator: ""); return }
        // Beside it, then renamed: never half a ruleset at `out`, and none left beside it when
        // the disk is full (the partial file stayed).
        let tmp = out + ".tmp"
        do { try text.write(toFile: tmp, atomically: false, encoding: .utf8) } catch {
            unlink(tmp)
            throw InputError("cannot write \(out): \((error as NSError).localizedDescription)")
        }
        guard rename(tmp, out) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw InputError("cannot write \(out): \(why)")
        }
    }
}
