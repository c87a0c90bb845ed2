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
    }

    struct ShapeState {
        var id: UInt32
        var count: Int
        /// Never above the best rank among the shape's rules. Deleting a shape's best rule
        /// leaves it as it was: a lower bound only makes the program look at the shape when
        /// it could have skipped it, never skip one that could win.
        var minRank: UInt64
    }

    /// shapes, heads, rules, checks: owned, closed with the image.
    let fds: [Int32]
    let ruleCapacity: Int
    let keyCapacity: Int
    let checkCapacity: Int
    var stamp: UInt64 = 0
    var digest: UInt64 = 0
    var placed: [UInt32: Placed] = [:]
    var keyCount = 0
    var rulesHigh: UInt32 = 0
    var checksHigh: UInt32 = 0
    var freeRules: [UInt32] = []
    /// Free runs of checks by length (index 0 unused).
    var freeChecks: [[UInt32]] = Array(repeating: [], count: Int(HOLON_MAX_CHECKS) + 1)
    var shapes: [RuleCompiler.ShapeSig: ShapeState] = [:]

    init(fds: [Int32], ruleCapacity: Int, keyCapacity: Int, checkCapacity: Int) {
        self.fds = fds
        self.ruleCapacity = ruleCapacity
        self.keyCapacity = keyCapacity
        self.checkCapacity = checkCapacity
    }

    deinit { for fd in fds { close(fd) } }

    var shapesFD: Int32 { fds[0] }
    /// Key → the first rule of its chain (a copy of the one at its index in the rules array).
    var headsFD: Int32 { fds[1] }
    var rulesFD: Int32 { fds[2] }
    var checksFD: Int32 { fds[3] }

    /// Room to grow before an edit has to rebuild the maps: an eighth, at least 1024.
    static func capacity(for n: Int) -> Int { n + max(1024, n / 8) }

    /// The image of maps just written with `t` (rule `i` of `t.ordered` at index `i`).
    func record(_ t: CompiledTable, digest: UInt64) {
        self.digest = digest
        placed.reserveCapacity(t.ordered.count)
        for (i, r) in t.ordered.enumerated() {
            let hr = t.rules[i]
            placed[r.id] = Placed(rule: r, index: UInt32(i), checkStart: hr.check_start, nchecks: hr.nchecks)
        }
        keyCount = t.keys.count
        rulesHigh = UInt32(t.rules.count)
        checksHigh = UInt32(t.checks.count)
        for (i, sig) in t.shapeSigs.enumerated() {
            shapes[sig] = ShapeState(id: UInt32(i), count: t.shapeCounts[i], minRank: t.shapes[i].min_rank)
        }
    }

    /// The shapes array as the program reads it: sorted by best rank.
    func shapeArray() -> [holon_shape] {
        shapes.sorted { $0.value.minRank < $1.value.minRank }
            .map { RuleCompiler.shapeStruct($0.key, id: $0.value.id, minRank: $0.value.minRank) }
    }
}

/// The inner maps of one generation as they are in the kernel, reopened from the outer maps.
extension Dataplane {
    /// Creates the four inner maps sized for `capacity` and writes `t` into them.
    func buildMaps(_ t: CompiledTable, digest: UInt64) throws(DataplaneError) -> TableImage {
        let ruleCap = TableImage.capacity(for: t.rules.count)
        let checkCap = TableImage.capacity(for: t.checks.count)
        var fds: [Int32] = []
        do {
            fds.append(try createInner(.shapesOut, entries: Int(HOLON_MAX_SHAPES)))
            fds.append(try createInner(.headsOut, entries: ruleCap))
            fds.append(try createInner(.rulesOut, entries: ruleCap))
            fds.append(try createInner(.checksOut, entries: checkCap))
        } catch {
            for fd in fds { close(fd) }
            throw error
        }
        let image = TableImage(fds: fds, ruleCapacity: ruleCap, keyCapacity: ruleCap, checkCapacity: checkCap)
        try updateArray(image.shapesFD, t.shapes, "shapes")
        try updateArray(image.rulesFD, t.rules, "rules")
        try updateArray(image.checksFD, t.checks, "checks")
        try updateBatch(image.headsFD, keys: t.keys, values: t.firstSlots.map { t.rules[Int($0)] }, "chain heads")
        image.record(t, digest: digest)
        return image
    }
}
