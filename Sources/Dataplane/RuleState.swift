import Foundation
import Rules

/// Which table the filter enforces, as its config map records it: enough to tell whether a
/// rule state file describes it.
public struct TableFingerprint: Sendable, Hashable, Codable {
    public var generation: UInt32
    public var rules: Int
    /// Sum of the table's rule hashes (``RuleState/digest(_:)``); 0 on a filter that never
    /// had a table installed.
    public var digest: UInt64
}

/// The installed rules as rule-language text in the state directory: bpffs holds only BPF
/// objects, and the maps hold the compiled form, so this is how a later process lists and
/// amends the table.
///
/// The maps are the truth. Every install records the digest of the table's text in the config
/// map; a state file is believed only when its rules have that digest. A missing, unreadable
/// or hand-edited file is an error naming the mismatch and the way back, never an empty table
/// (which the next `holon rules add` would have installed, dropping every rule silently).
enum RuleState {
    /// The command that puts a known table in place whatever the state file says.
    static let recovery = "the filter keeps enforcing its table; install a known one with `holon rules load --replace-all FILE`"

    /// Digest of the table `rules` (what the state file holds): the wrapping sum of each rule's
    /// ``ruleHash(_:)``. A sum, not a hash of the text in order, so that a change of one rule
    /// updates it from that rule alone (a 100k-rule table is not printed again per change); the
    /// order is no information anyway, as the rules' text fixes it (priority, id).
    static func digest(_ rules: [Rule]) -> UInt64 {
        var h: UInt64 = 0
        for r in rules { h &+= ruleHash(r) }
        return h
    }

    /// A 64-bit hash of everything that makes a rule what it is, then mixed (splitmix64's
    /// finaliser) so that sums of them do not cancel. It reads the rule's values, not its text:
    /// printing 100k rules cost 40 % of a whole-table install. Text and value agree because
    /// the text round-trips (`Rule(parsing: r.text) == r`, RuleTextTests), so the rules parsed
    /// from the state file hash as the rules installed did. Every stored property of `Rule` is
    /// fed here; `RuleStateDigestTests` changes each one and expects the hash to change.
    static func ruleHash(_ r: Rule) -> UInt64 {
        var h = RuleHasher()
        h.add(UInt64(r.id))
        h.add(UInt64(bitPattern: Int64(r.priority)))
        h.add(r.ttlSeconds.map { 1 << 32 | UInt64($0) } ?? 0)
        if let c = r.createdAt { h.add(1); h.add(c) } else { h.add(0) }
        h.add(r.name)
        h.add(r.explanation)
        switch r.action {
        case .drop: h.add(1)
        case .pass: h.add(2)
        case .count: h.add(3)
        case .rateLimit(let pps, let burst):
            h.add(4); h.add(pps)
            if let b = burst { h.add(1); h.add(b) } else { h.add(0) }
        case .synAuth: h.add(5)
        case .flowCheck: h.add(6)
        }
        h.add(UInt64(r.predicates.count))
        for p in r.predicates {
            switch p {
            case .equals(let f, let v): h.add(1); h.add(UInt64(f.id)); h.add(v)
            case .mask(let f, let m, let v): h.add(2); h.add(UInt64(f.id)); h.add(m); h.add(v)
            case .range(let f, let range): h.add(3); h.add(UInt64(f.id)); h.add(range.lowerBound); h.add(range.upperBound)
            case .prefix(let f, .v4(let a), let len): h.add(4); h.add(UInt64(f.id)); h.add(UInt64(len)); h.add(UInt64(a))
            case .prefix(let f, .v6(let hi, let lo), let len): h.add(5); h.add(UInt64(f.id)); h.add(UInt64(len)); h.add(hi); h.add(lo)
            case .bytes(let b):
                h.add(6); h.add(UInt64(b.offset)); h.add(UInt64(b.value.count))
                h.add(bytes: b.value)
                h.add(bytes: b.mask)
            }
        }
        return h.finish()
    }

    /// The digest of earlier versions, FNV-1a of each rule's text: a filter whose table was
    /// installed by one of them still has it in its config map, and its state file must still
    /// be believed after an upgrade (the next install records the new digest).
    static func textDigest(_ rules: [Rule]) -> UInt64 {
        var sum: UInt64 = 0
        for r in rules {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in r.text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            sum &+= RuleHasher.mix(h)
        }
        return sum
    }

    /// The rules of the state file, checked against what the filter enforces.
    static func read(_ o: DataplaneOptions, expected: TableFingerprint) throws(DataplaneError) -> [Rule] {
        let file = o.stateFile
        func mismatch(_ what: String) -> DataplaneError {
            .stateMismatch("\(file) \(what), but the filter enforces \(expected.rules) rule(s) (generation \(expected.generation)); \(recovery)")
        }
        let rules: [Rule]
        do throws(FileProblem) {
            rules = try parseFile(file)
        } catch {
            switch error {
            case .missing:
                if expected.rules == 0 { return [] }
                throw mismatch("is missing")
            case .unreadable(let why):
                throw mismatch("cannot be read (\(why))")
            }
        }
        // The file with the changes made in place since (RuleJournal): with all of them, or
        // without the last one when the filter never flipped to it.
        let tables: [[Rule]]
        do throws(FileProblem) {
            tables = try RuleJournal.candidates(rules, o)
        } catch {
            if case .unreadable(let why) = error { throw mismatch("has a journal that cannot be read (\(why))") }
            tables = [rules]
        }
        for t in tables where matches(t, expected) { return t }
        // An install that died between the filter's flip and the rename left the new table's
        // text beside the old: it is the one the filter enforces.
        if let pending = try? parseFile(file + ".tmp"), matches(pending, expected) {
            unlink(RuleJournal.path(o))
            rename(file + ".tmp", file)
            return pending
        }
        throw mismatch("lists \(rules.count) rule(s) that are not the table in the filter")
    }

    /// The rules of the state file without checking them against a filter: what a detached
    /// filter left behind, restored by the next attach. With every change of its journal: one
    /// a crash kept the filter from taking comes back too (an operator or the loop asked for it).
    static func saved(_ o: DataplaneOptions) throws(DataplaneError) -> [Rule]? {
        do throws(FileProblem) {
            return try RuleJournal.candidates(try parseFile(o.stateFile), o).first
        } catch {
            switch error {
            case .missing: return nil
            case .unreadable(let why):
                throw .stateMismatch("\(o.stateFile) cannot be read (\(why)); move it away to attach with an empty table")
            }
        }
    }

    static func matches(_ rules: [Rule], _ expected: TableFingerprint) -> Bool {
        if expected.digest == 0 { return rules.isEmpty && expected.rules == 0 }
        return rules.count == expected.rules && (digest(rules) == expected.digest || textDigest(rules) == expected.digest)
    }

    enum FileProblem: Error { case missing, unreadable(String) }

    static func parseFile(_ path: String) throws(FileProblem) -> [Rule] {
        let text = try readText(path)
        do { return try RuleFile.parse(text) } catch { throw .unreadable("\(error)") }
    }

    /// The UTF-8 text of the file at `path`.
    static func readText(_ path: String) throws(FileProblem) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw errno == ENOENT ? .missing : .unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        // Read straight into one buffer of the file's size (a million rules are 70 MB: copied
        // in from 64 KiB chunks, growing, they cost a tenth of their parse), grown if the file
        // grew meanwhile.
        var st = stat()
        var bytes = [UInt8](repeating: 0, count: fstat(fd, &st) == 0 ? max(Int(st.st_size), 0) + 1 : 1 << 16)
        var filled = 0
        while true {
            if filled == bytes.count { bytes += repeatElement(0, count: bytes.count) }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeLast(bytes.count - filled)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .unreadable("not UTF-8 text") }
        return text
    }

    /// The first `bytes` bytes of the file at `path`, as text (nil when it cannot be read).
    static func readHead(_ path: String, bytes: Int) -> Substring? {
        readPart(path, bytes: bytes, fromEnd: false)
    }

    /// The last `bytes` bytes of the file at `path`, as text, from its first whole line.
    static func readTail(_ path: String, bytes: Int) -> Substring? {
        guard let t = readPart(path, bytes: bytes, fromEnd: true) else { return nil }
        return t.utf8.count < bytes ? t : t.drop { $0 != "\n" }.dropFirst()
    }

    private static func readPart(_ path: String, bytes: Int, fromEnd: Bool) -> Substring? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let offset = fromEnd ? max(0, Int(st.st_size) - bytes) : 0
        var buf = [UInt8](repeating: 0, count: bytes)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, bytes, off_t(offset)) }
        guard n >= 0 else { return nil }
        return Substring(String(decoding: buf[..<n], as: UTF8.self))
    }

    /// The fingerprint a state file's first line names (``prepare(_:_:fingerprint:)``), or nil.
    static func headerFingerprint(_ line: Substring) -> TableFingerprint? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ";" })
        func after(_ w: String) -> Substring? { words.firstIndex(of: Substring(w)).flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil } }
        guard line.hasPrefix(headerPrefix), let g = after("generation").flatMap({ UInt32($0) }),
              let d = after("digest").flatMap({ UInt64($0, radix: 16) }),
              let n = words.firstIndex(of: "rule(s)").flatMap({ $0 > 0 ? Int(words[$0 - 1]) : nil }) else { return nil }
        return TableFingerprint(generation: g, rules: n, digest: d)
    }

    static let headerPrefix = "; holon rule state: "

    /// Writes the new table's text beside the state file (fsynced), before the filter flips to
    /// it; ``commit(_:)`` renames it into place after.
    static func prepare(_ rules: [Rule], _ o: DataplaneOptions, fingerprint: TableFingerprint) throws(DataplaneError) {
        do {
            try FileManager.default.createDirectory(atPath: o.stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw .stateFile("\(o.stateDirectory): \(error.localizedDescription)")
        }
        let header = "\(headerPrefix)generation \(fingerprint.generation), \(fingerprint.rules) rule(s), digest \(String(fingerprint.digest, radix: 16)); written by the filter's loader, do not edit\n"
        try writeSynced(header + RuleFile.print(rules), to: o.stateFile + ".tmp")
    }

    static func commit(_ o: DataplaneOptions) throws(DataplaneError) {
        // The journal first: its changes are in the text renamed into place. The other way
        // round, a crash in between would leave the whole new table with the old journal.
        unlink(RuleJournal.path(o))
        guard rename(o.stateFile + ".tmp", o.stateFile) == 0 else {
            throw .stateFile("renaming \(o.stateFile).tmp: \(String(cString: strerror(errno)))")
        }
        let dir = open(o.stateDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    static func writeSynced(_ text: String, to path: String) throws(DataplaneError) {
        try writeSynced(Array(text.utf8), to: path, flags: O_TRUNC)
    }

    /// `bytes` written to the file at `path` (created if need be, opened with `flags` besides:
    /// O_TRUNC to replace it — a file beside the one it will be renamed over —, O_APPEND to add
    /// to it), then synced. A write that fails leaves nothing of itself: the file replaced is
    /// removed, the one appended to cut back to where it ended. A full disk (ENOSPC after a short
    /// write) left half a table's text in /run, which is memory, and half a journal line, which
    /// made every later reader refuse the journal.
    static func writeSynced(_ bytes: [UInt8], to path: String, flags: Int32) throws(DataplaneError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0o644)
        guard fd >= 0 else { throw .stateFile("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        let start = flags & O_APPEND != 0 && fstat(fd, &st) == 0 ? st.st_size : 0
        func failed(_ what: String) -> DataplaneError {
            let why = DataplaneError.stateFile("\(what) \(path): \(String(cString: strerror(errno)))")
            if flags & O_APPEND != 0 { _ = ftruncate(fd, start) } else { unlink(path) }
            return why
        }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failed("writing")
            }
            off += n
        }
        guard fsync(fd) == 0 else { throw failed("syncing") }
    }

    /// ``locked(_:_:)`` for work that is only worth doing while the filter is still there: when
    /// the lock file is gone (the filter was detached), `body` does not run and nothing is
    /// created.
    static func lockedIfPresent(_ o: DataplaneOptions, _ body: () throws(DataplaneError) -> Void) throws(DataplaneError) {
        let fd = open(o.stateFile + ".lock", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw .stateFile("locking \(o.stateFile).lock: \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        try body()
    }

    /// Runs `body` once no other process is changing the table: holding the lock when there is
    /// a lock file, but after `seconds` at most, lock or not. Always runs `body`.
    static func afterChangeInProgress(_ o: DataplaneOptions, waitingAtMost seconds: Double, _ body: () throws(DataplaneError) -> Void) throws(DataplaneError) {
        let fd = open(o.stateFile + ".lock", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return try body() }
        defer { close(fd) }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        var held = false
        while !held && DispatchTime.now().uptimeNanoseconds < deadline {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { held = true } else { usleep(10_000) }
        }
        defer { if held { flock(fd, LOCK_UN) } }
        try body()
    }

    /// Runs `body` holding an exclusive lock on the state file's lock file, so that
    /// read–change–install sequences of several processes (a sidecar, `holon rules add`) run one
    /// after the other instead of overwriting each other's rules.
    static func locked<T>(_ o: DataplaneOptions, _ body: () throws(DataplaneError) -> T) throws(DataplaneError) -> T {
        try? FileManager.default.createDirectory(atPath: o.stateDirectory, withIntermediateDirectories: true)
        let path = o.stateFile + ".lock"
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .stateFile("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw .stateFile("locking \(path): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}

/// Word-at-a-time hashing for ``RuleState/ruleHash(_:)``: deterministic across processes and
/// versions (Swift's `Hasher` is seeded per process), which a digest kept in a pinned map needs.
struct RuleHasher {
    private var h: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ x: UInt64) {
        h = (h ^ x) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
    }

    /// Length first, so that a nil, an empty string and adjacent strings all differ.
    mutating func add(_ s: String?) {
        guard let s else { return add(0) }
        add(1 << 32 | UInt64(s.utf8.count))
        addWords(s.utf8)
    }

    mutating func add(bytes: [UInt8]) {
        add(UInt64(bytes.count))
        addWords(bytes)
    }

    /// Bytes eight to a word, little-endian; a short last word is zero-filled.
    private mutating func addWords(_ bytes: some Sequence<UInt8>) {
        var word: UInt64 = 0, n: UInt64 = 0
        for b in bytes {
            word |= UInt64(b) << (8 * n)
            n += 1
            if n == 8 { add(word); word = 0; n = 0 }
        }
        if n > 0 { add(word) }
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var h = x
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }

    func finish() -> UInt64 { Self.mix(h) }
}
