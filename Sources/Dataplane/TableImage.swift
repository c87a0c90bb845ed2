import CHolonXDP
import CLibBPF
import Foundation
import Rules

/// What this process knows of one table generation's inner maps: where each rule sits, which
/// indexes are free, which shapes exist. Enough to edit the maps in place without reading them
/// whole; the chains themselves are read from the maps when an edit touches them (the maps are
/// the truth, and this stays small).
///
/// Believed only while the generation's `stamp` in the config map is the one drawn when these
/// maps were last completely written by this process (``TableInfoStamp``).
final class TableImage {
    struct Placed {
        var rule: Rule
        var index: UInt32
        var checkStart: UInt32
        var nchecks: UInt8
        /// Keyed on less than it has (``RuleCompiler/Lowered/narrowed``): how to find its key
        /// again when it leaves.
        var narrowed: Bool
        /// Its prefixes keyed at ``RuleCompiler/finePrefixKeyStride`` (a whole build's second
        /// try for a crowded chain); edits key new rules at the usual stride.
        var fine = false

        /// The stride its prefixes were keyed at, to find its key again.
        var keyStride: Int { fine ? RuleCompiler.finePrefixKeyStride : RuleCompiler.prefixKeyStride }
    }

    struct ShapeState {
        var id: UInt32
        var count: Int
        /// Never above the best rank among the shape's rules. Deleting a shape's best rule
        /// leaves it as it was: a lower bound only makes the program look at the shape when
        /// it could have skipped it, never skip one that could win.
        var minRank: UInt64
        /// Never fewer protocols than its rules take (``RuleCompiler/protocolBits(_:)``):
        /// deleting a rule leaves them, adding one adds its own.
        var admits: UInt32
    }

    /// The outer maps a generation's inner maps go into, in the order of ``fds``.
    static let outers: [XDPMap] = [.shapesOut, .headsOut, .rulesOut, .checksOut, .shortHeadsOut, .keyBucketsOut]

    /// One inner map for each of ``outers``: owned, closed with the image.
    let fds: [Int32]
    let ruleCapacity: Int
    /// Keys each heads map has room for, by `holon_key_class` (wide, short; the buckets have
    /// no limit: a full bucket spills into the map of short keys).
    let keyCapacity: [Int]
    let checkCapacity: Int
    var stamp: UInt64 = 0
    var digest: UInt64 = 0
    var placed: [UInt32: Placed] = [:]
    /// Keys in each heads map, by `holon_key_class` (wide, short), and in the buckets' ways.
    var keyCounts = [0, 0]
    var bucketedKeys = 0
    var rulesHigh: UInt32 = 0
    var checksHigh: UInt32 = 0
    var freeRules: [UInt32] = []
    /// Free runs of checks by length (index 0 unused).
    var freeChecks: [[UInt32]] = Array(repeating: [], count: Int(HOLON_MAX_CHECKS) + 1)
    var shapes: [RuleCompiler.ShapeSig: ShapeState] = [:]

    /// Whether a rule of shape `sig` (keyed on all its fields, at their own prefix lengths) may
    /// be narrowed in this table: not while the table keys that shape whole (a whole build found
    /// its narrowed chains too long, or a rule's checks did not fit). A shape with nothing to
    /// narrow is keyed as it is either way.
    func mayNarrow(_ sig: RuleCompiler.ShapeSig) -> Bool {
        shapes[sig] == nil
    }

    init(fds: [Int32], ruleCapacity: Int, keyCapacity: [Int], checkCapacity: Int) {
        self.fds = fds
        self.ruleCapacity = ruleCapacity
        self.keyCapacity = keyCapacity
        self.checkCapacity = checkCapacity
    }

    deinit { for fd in fds { close(fd) } }

    var shapesFD: Int32 { fds[0] }
    var rulesFD: Int32 { fds[2] }
    var checksFD: Int32 { fds[3] }

    /// Key → the first rule of its chain (a copy of the one at its index in the rules array),
    /// in the map of the shape's key class. A short map reads the first bytes of a
    /// `holon_key`, so callers hand every map the same struct.
    func headsFD(_ keyClass: holon_key_class) -> Int32 { keyClass == HOLON_KEYS_WIDE ? fds[1] : fds[4] }
    var bucketsFD: Int32 { fds[5] }

    var keyCount: Int { keyCounts.reduce(0, +) + bucketedKeys }

    /// Room to grow before an edit has to rebuild the maps: an eighth, at least 1024.
    static func capacity(for n: Int) -> Int { n + max(1024, n / 8) }

    /// The image of maps just written with `t` (rule `i` of `t.ordered` at index `i`).
    func record(_ t: CompiledTable, digest: UInt64) {
        self.digest = digest
        placed.reserveCapacity(t.ordered.count)
        for (i, r) in t.ordered.enumerated() {
            let hr = t.rules[i]
            placed[r.id] = Placed(rule: r, index: UInt32(i), checkStart: hr.check_start, nchecks: hr.nchecks, narrowed: false)
        }
        for i in t.narrowed { placed[t.ordered[i].id]!.narrowed = true }
        for i in t.fine { placed[t.ordered[i].id]!.fine = true }
        rulesHigh = UInt32(t.rules.count)
        checksHigh = UInt32(t.checks.count)
        for (i, sig) in t.shapeSigs.enumerated() {
            shapes[sig] = ShapeState(id: UInt32(i), count: t.shapeCounts[i], minRank: t.shapes[i].min_rank, admits: ~t.shapes[i].proto_skip)
        }
    }

    /// The shapes array as the program reads it: sorted by best rank.
    func shapeArray() -> [holon_shape] {
        shapes.sorted { $0.value.minRank < $1.value.minRank }
            .map { RuleCompiler.shapeStruct($0.key, id: $0.value.id, minRank: $0.value.minRank, admits: $0.value.admits) }
    }
}

/// The inner maps of one generation as they are in the kernel, reopened from the outer maps.
extension Dataplane {
    /// Creates a generation's inner maps, each sized for what `t` puts in it and room to
    /// grow, and writes `t` into them.
    func buildMaps(_ t: CompiledTable, digest: UInt64) throws(DataplaneError) -> TableImage {
        // Each key with its chain's head: a bucketed shape's in its bucket while the bucket has
        // a free way, else (and a short shape's) in the map of short keys, a wide shape's in
        // the map of wide keys. Batches pack keys at the map's key size: a short map's keys go
        // in as short keys.
        var wide: (keys: [holon_key], heads: [holon_rule]) = ([], [])
        var short: (keys: [holon_short_key], heads: [holon_rule]) = ([], [])
        // The buckets in one flat array from calloc (17 MB whose pages the kernel zeroes only
        // where a key lands: a small table touches few); those that hold something are written.
        let n = Int(HOLON_KEY_BUCKETS)
        guard let raw = calloc(n, MemoryLayout<holon_key_bucket>.stride) else {
            throw .system("allocating the key buckets", code: ENOMEM)
        }
        defer { free(raw) }
        let buckets = UnsafeMutableBufferPointer(start: raw.bindMemory(to: holon_key_bucket.self, capacity: n), count: n)
        var touched: [UInt32] = []
        var bucketed = 0
        let keyClasses = t.shapeSigs.map(\.keyClass)
        let wideCount = t.keys.lazy.filter { keyClasses[Int($0.shape)] == HOLON_KEYS_WIDE }.count
        wide.keys.reserveCapacity(wideCount)
        wide.heads.reserveCapacity(wideCount)
        short.keys.reserveCapacity(t.keys.count - wideCount)
        short.heads.reserveCapacity(t.keys.count - wideCount)
        for (i, k) in t.keys.enumerated() {
            let head = t.rules[Int(t.firstSlots[i])]
            switch keyClasses[Int(k.shape)] {
            case HOLON_KEYS_WIDE:
                wide.keys.append(k)
                wide.heads.append(head)
            case HOLON_KEYS_BUCKETED:
                let key = RuleCompiler.shortKey(k)
                let b = Int(holon_key_bucket.index(of: key))
                if buckets[b].used == 0 && buckets[b].spilled == 0 { touched.append(UInt32(b)) }
                if buckets[b].insert(key, head) {
                    bucketed += 1
                } else {
                    buckets[b].spilled += 1
                    short.keys.append(key)
                    short.heads.append(head)
                }
            default:
                short.keys.append(RuleCompiler.shortKey(k))
                short.heads.append(head)
            }
        }
        let ruleCap = TableImage.capacity(for: t.rules.count)
        let checkCap = TableImage.capacity(for: t.checks.count)
        var keyCap = [0, 0]
        keyCap[Int(HOLON_KEYS_WIDE.rawValue)] = TableImage.capacity(for: wide.keys.count)
        keyCap[Int(HOLON_KEYS_SHORT.rawValue)] = TableImage.capacity(for: short.keys.count)
        var fds: [Int32] = []
        do {
            for outer in TableImage.outers {
                let entries: Int
                switch outer {
                case .shapesOut: entries = Int(HOLON_MAX_SHAPES)
                case .headsOut: entries = keyCap[Int(HOLON_KEYS_WIDE.rawValue)]
                case .shortHeadsOut: entries = keyCap[Int(HOLON_KEYS_SHORT.rawValue)]
                case .checksOut: entries = checkCap
                default: entries = ruleCap   // rules; the buckets' template fixes their size
                }
                fds.append(try createInner(outer, entries: entries))
            }
        } catch {
            for fd in fds { close(fd) }
            throw error
        }
        let image = TableImage(fds: fds, ruleCapacity: ruleCap, keyCapacity: keyCap, checkCapacity: checkCap)
        try updateArray(image.shapesFD, t.shapes, "shapes")
        try updateArray(image.rulesFD, t.rules, "rules")
        try updateArray(image.checksFD, t.checks, "checks")
        try updateBatch(image.headsFD(HOLON_KEYS_WIDE), keys: wide.keys, values: wide.heads, "chain heads")
        try updateBatch(image.headsFD(HOLON_KEYS_SHORT), keys: short.keys, values: short.heads, "chain heads (short keys)")
        if touched.count * 2 > n {
            let all = (0..<UInt32(n)).map { $0 }
            try all.withUnsafeBufferPointer { (k) throws(DataplaneError) in
                try updateBatch(image.bucketsFD, keys: k, values: UnsafeBufferPointer(buckets), "key buckets")
            }
        } else {
            try updateBatch(image.bucketsFD, keys: touched, values: touched.map { buckets[Int($0)] }, "key buckets")
        }
        image.record(t, digest: digest)
        image.keyCounts[Int(HOLON_KEYS_WIDE.rawValue)] = wide.keys.count
        image.keyCounts[Int(HOLON_KEYS_SHORT.rawValue)] = short.keys.count
        image.bucketedKeys = bucketed
        return image
    }
}
