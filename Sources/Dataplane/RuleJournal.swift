import Foundation
import Rules

/// The changes made in place since the state file was last written whole, one group per
/// change, appended to `STATE.journal` (fsynced) before the filter flips to the change.
///
/// A one-rule change to a 100k-rule table once printed, wrote and synced the whole table's text
/// (8.5 MB) before its flip: `holon run`'s incident rules took ~200 ms to go in, the bench's
/// 0.09 ms notwithstanding. A group is a few lines:
///
///     - (rule …)                         a rule removed (as it was, so it can be taken out by rank)
///     + (rule …)                         a rule added (a changed rule is removed, then added)
///     = G N DIGEST PG PN PDIGEST         the table's fingerprint after, and before, the change
///
/// A group without its `=` line (a crash while appending) is no change. The last group may
/// describe a change the filter never flipped to (a crash before the flip): the reader then
/// takes the table without it, as the fingerprint in the config map says. A whole write of
/// the table (``RuleState/prepare(_:_:fingerprint:)``, ``RuleState/commit(_:)``) ends the
/// journal; so does a journal grown past ``limit(baseBytes:)``.
enum RuleJournal {
    struct Group {
        var removed: [Rule] = []
        var added: [Rule] = []
        var after: TableFingerprint
        var before: TableFingerprint
    }

    static func path(_ o: DataplaneOptions) -> String { o.stateFile + ".journal" }

    /// Bytes the journal may reach before the next change rewrites the table whole instead: a
    /// quarter of the whole table's text, and 256 KiB at least (a reader replays it on open).
    static func limit(baseBytes: Int) -> Int { max(256 << 10, baseBytes / 4) }

    /// Appends `diff`, the change from `before` to `after`, and syncs it. False, having written
    /// nothing, when the files do not end at `before` (a crash left a change the filter never
    /// took, or the table was written by an earlier version) or the journal is full: the caller
    /// then writes the table whole, which ends the journal.
    static func append(_ diff: TableDiff, _ o: DataplaneOptions, from before: TableFingerprint, to after: TableFingerprint) throws(DataplaneError) -> Bool {
        let journal = path(o)
        var base = stat(), st = stat()
        guard stat(o.stateFile, &base) == 0 else { return false }
        let size = stat(journal, &st) == 0 ? Int(st.st_size) : 0
        guard size < limit(baseBytes: Int(base.st_size)), describedLast(o, journalBytes: size) == before else { return false }
        var text: [UInt8] = []
        for (sign, rules) in [("- ", diff.removed), ("+ ", diff.added)] {
            for r in rules {
                text.append(contentsOf: sign.utf8)
                r.write(to: &text)
                text.append(0x0A)
            }
        }
        text.append(contentsOf: "= \(line(after)) \(line(before))\n".utf8)
        try RuleState.writeSynced(text, to: journal, flags: O_APPEND)
        return true
    }

    /// The tables the files describe, most changes first: the state file with every group of
    /// the journal, then without its last (never flipped to). Just the state file when there is
    /// no journal.
    static func candidates(_ base: [Rule], _ o: DataplaneOptions) throws(RuleState.FileProblem) -> [[Rule]] {
        let groups = try read(path(o))
        if groups.isEmpty { return [base] }
        return [replay(base, groups[...]), replay(base, groups.dropLast())]
    }

    /// The groups of the journal at `path` (none when there is none); a last group cut short is
    /// left out, also when its last line is (a write that ended before its newline).
    static func read(_ path: String) throws(RuleState.FileProblem) -> [Group] {
        var text: String
        do throws(RuleState.FileProblem) {
            text = try RuleState.readText(path)
        } catch {
            if case .missing = error { return [] }
            throw error
        }
        if let end = text.lastIndex(of: "\n") { text = String(text[...end]) } else { text = "" }
        var groups: [Group] = []
        var removed: [Rule] = [], added: [Rule] = []
        for (k, line) in text.split(separator: "\n").enumerated() {
            func bad(_ why: String) -> RuleState.FileProblem { .unreadable("\(path), line \(k + 1): \(why)") }
            guard line.count > 2 else { throw bad("not a change") }
            let body = line.dropFirst(2)
            switch line.first {
            case "-", "+":
                let rule: Rule
                do { rule = try RuleParser.parse(body, line: k + 1) } catch {
                    var e = error
                    e.column += 2   /* after the "+ " or "- " */
                    throw .unreadable("\(path): \(e)")
                }
                if line.first == "-" { removed.append(rule) } else { added.append(rule) }
            case "=":
                let f = body.split(separator: " ")
                guard f.count == 6, let after = fingerprint(f[0...2]), let before = fingerprint(f[3...5]) else { throw bad("not a fingerprint") }
                groups.append(Group(removed: removed, added: added, after: after, before: before))
                removed = []
                added = []
            default:
                throw bad("not a change")
            }
        }
        return groups
    }

    /// `base` with `groups` applied, in rank order: their net change first, then one merge
    /// (``Dataplane/merge(_:_:)``, which inserts rule by rule, would move a 100k-rule table once
    /// for every line of the journal).
    static func replay(_ base: [Rule], _ groups: ArraySlice<Group>) -> [Rule] {
        var added: [UInt32: Rule] = [:]
        var gone = Set<UInt32>()
        for g in groups {
            for r in g.removed where added.removeValue(forKey: r.id) == nil { gone.insert(r.id) }
            for r in g.added {
                added[r.id] = r
                gone.insert(r.id)
            }
        }
        if added.isEmpty && gone.isEmpty { return base }
        let kept = base.filter { !gone.contains($0.id) }
        let extra = added.values.sorted { RuleCompiler.rank($0) < RuleCompiler.rank($1) }
        var out: [Rule] = []
        out.reserveCapacity(kept.count + extra.count)
        var i = 0, j = 0
        while i < kept.count || j < extra.count {
            if j == extra.count || (i < kept.count && RuleCompiler.rank(kept[i]) < RuleCompiler.rank(extra[j])) {
                out.append(kept[i]); i += 1
            } else {
                out.append(extra[j]); j += 1
            }
        }
        return out
    }

    /// The fingerprint the files end at: the journal's last group's, else the state file's
    /// header's; nil when neither says (a file of an earlier version, a hand-written one).
    static func describedLast(_ o: DataplaneOptions, journalBytes: Int) -> TableFingerprint? {
        if journalBytes > 0 {
            guard let tail = RuleState.readTail(path(o), bytes: 256),
                  let last = tail.split(separator: "\n").last, last.hasPrefix("= ") else { return nil }
            let f = last.dropFirst(2).split(separator: " ")
            return f.count == 6 ? fingerprint(f[0...2]) : nil
        }
        guard let head = RuleState.readHead(o.stateFile, bytes: 256), let first = head.split(separator: "\n").first else { return nil }
        return RuleState.headerFingerprint(first)
    }

    static func line(_ f: TableFingerprint) -> String { "\(f.generation) \(f.rules) \(String(f.digest, radix: 16))" }

    static func fingerprint(_ f: ArraySlice<Substring>) -> TableFingerprint? {
        guard f.count == 3, let g = UInt32(f[f.startIndex]), let n = Int(f[f.startIndex + 1]),
              let d = UInt64(f[f.startIndex + 2], radix: 16) else { return nil }
        return TableFingerprint(generation: g, rules: n, digest: d)
    }
}
