import CHolonXDP
import CLibBPF
import Foundation
import Rules

/// A change to a table: the rules that leave and the rules that arrive (a changed rule does
/// both, under the same id).
struct TableDiff {
    var removed: [Rule] = []
    var added: [Rule] = []
    var isEmpty: Bool { removed.isEmpty && added.isEmpty }
}

/// Why an in-place edit did not happen. Nothing was written in any case but `.system`.
enum EditProblem: Error {
    /// The new table is not valid (the same error a whole-table build would give).
    case compile(RuleCompileError)
    /// The maps have no room, or the image does not describe them: rebuild them whole.
    case rebuild
    case system(DataplaneError)
}

extension Dataplane {
    /// Writes `diff` into the maps `image` describes, touching only the chains of the keys it
    /// changes (a handful of map elements for a one-rule change, whatever the table's size).
    /// The maps must be those of the inactive generation with no reader left (see
    /// ``waitForReaders(generation:)``): elements are rewritten one by one, and a packet reading them
    /// meanwhile could meet a chain half relinked.
    ///
    /// Everything is checked before the first write; the image is updated after the last.
    /// `counterSlot`: the counter slot of each added rule.
    func edit(_ image: TableImage, _ diff: TableDiff, bootOffsetNs: Int64,
              counterSlot: (Rule) -> UInt16 = { _ in 0 }) throws(EditProblem) {
        typealias Lowered = RuleCompiler.Lowered
        var added: [Lowered] = []
        for r in diff.added {
            do { added.append(try RuleCompiler.lowerForTable(r, bootOffsetNs: bootOffsetNs, counterSlot: counterSlot(r), narrow: image.mayNarrow)) } catch { throw .compile(error) }
        }
        var removed: [(Lowered, TableImage.Placed)] = []
        for r in diff.removed {
            // Lowered as it was placed: narrowed (at its stride) or keyed whole.
            guard let p = image.placed[r.id], let l = try? RuleCompiler.lowerForTable(p.rule, bootOffsetNs: bootOffsetNs, narrow: { _ in p.narrowed },
                                                                                 stride: p.keyStride) else {
                throw .rebuild
            }
            removed.append((l, p))
        }

        // Shapes after the change: counts, bounds, ids for new ones.
        var shapes = image.shapes
        for (l, _) in removed where l.key != nil {
            guard shapes[l.shape] != nil else { throw .rebuild }
            shapes[l.shape]!.count -= 1
        }
        // Ids of shapes leaving in this change are not reused by it: a key of the old shape
        // and one of a new shape can then never be the same map key.
        var usedIDs = Set(shapes.values.map(\.id))
        for (l, rule) in zip(added, diff.added) where l.key != nil {
            if shapes[l.shape] == nil {
                guard let id = (0..<UInt32(HOLON_MAX_SHAPES)).first(where: { !usedIDs.contains($0) }) else {
                    throw .compile(.tooManyShapes)
                }
                usedIDs.insert(id)
                shapes[l.shape] = TableImage.ShapeState(id: id, count: 0, minRank: .max, admits: 0)
            }
            shapes[l.shape]!.count += 1
            shapes[l.shape]!.minRank = min(shapes[l.shape]!.minRank, l.rule.rank)
            shapes[l.shape]!.admits |= RuleCompiler.protocolBits(rule)
        }
        shapes = shapes.filter { $0.value.count > 0 }
        guard shapes.count <= Int(HOLON_MAX_SHAPES) else { throw .compile(.tooManyShapes) }

        // Places: freed ones first (those of leaving rules included: nothing reads these maps).
        var freeRules = image.freeRules + removed.map(\.1.index)
        var freeChecks = image.freeChecks
        for (_, p) in removed where p.nchecks > 0 { freeChecks[Int(p.nchecks)].append(p.checkStart) }
        var rulesHigh = image.rulesHigh, checksHigh = image.checksHigh
        var placedNew: [TableImage.Placed] = []
        for (i, var l) in added.enumerated() {
            let index: UInt32
            if let f = freeRules.popLast() {
                index = f
            } else {
                guard Int(rulesHigh) < image.ruleCapacity else { throw .rebuild }
                index = rulesHigh
                rulesHigh += 1
            }
            let n = l.checks.count
            var start: UInt32 = 0
            if n > 0 {
                if let f = freeChecks[n].popLast() {
                    start = f
                } else {
                    guard Int(checksHigh) + n <= image.checkCapacity else { throw .rebuild }
                    start = checksHigh
                    checksHigh += UInt32(n)
                }
            }
            l.rule.check_start = start
            added[i] = l
            placedNew.append(TableImage.Placed(rule: diff.added[i], index: index, checkStart: start, nchecks: UInt8(n),
                                               narrowed: l.narrowed))
        }

        // The chains of the keys the change touches, read from the maps and rebuilt.
        struct Chain { var old: [(index: UInt32, rule: holon_rule)] = []; var new: [(index: UInt32, rule: holon_rule)] = [] }
        var chains: [RuleCompiler.KeySig: Chain] = [:]
        let leaving = Set(removed.map(\.1.index))
        var addedByKey: [RuleCompiler.KeySig: [Int]] = [:]
        var leavingByKey: [RuleCompiler.KeySig: [UInt32]] = [:]
        for (l, p) in removed {
            guard let k = l.key else { continue }
            if chains[k] == nil { chains[k] = Chain() }
            leavingByKey[k, default: []].append(p.index)
        }
        for (i, l) in added.enumerated() {
            guard let k = l.key else { continue }
            if chains[k] == nil { chains[k] = Chain() }
            addedByKey[k, default: []].append(i)
        }
        var ruleWrites: [(UInt32, holon_rule)] = []
        var keyWrites: [(holon_key, holon_key_class, holon_rule?)] = []
        var keyCounts = image.keyCounts
        // The buckets the chains' heads are read from, kept to plan the keys' writes.
        var plan = BucketPlan(bucketsFD: image.bucketsFD, spillFD: image.headsFD(HOLON_KEYS_SHORT))
        for (k, _) in chains {
            var c = Chain()
            if let old = image.shapes[k.shape] {
                var key = RuleCompiler.keyStruct(k, shapeID: old.id)
                var head = holon_rule()
                var found: Bool
                if k.shape.keyClass == HOLON_KEYS_BUCKETED {
                    do {
                        let h = try plan.head(RuleCompiler.shortKey(key))
                        found = h != nil
                        head = h ?? head
                    } catch { throw .system(error) }
                } else {
                    // A map of short keys reads the first bytes of `key` (holon_short_key).
                    found = bpf_map_lookup_elem(image.headsFD(k.shape.keyClass), &key, &head) == 0
                }
                if found {
                    // The head's copy names its rule; the rules array holds it at its place.
                    guard let placed = image.placed[head.id] else { throw .rebuild }
                    var idx = placed.index
                    while idx != HOLON_NO_SLOT {
                        guard c.old.count <= image.ruleCapacity else { throw .rebuild }   // a loop: not our maps
                        var r = holon_rule()
                        guard bpf_map_lookup_elem(image.rulesFD, &idx, &r) == 0 else { throw .rebuild }
                        c.old.append((idx, r))
                        idx = r.next
                    }
                }
            }
            // A leaving rule must be in the chain its key leads to: a key found otherwise than it
            // was written would leave the rule enforced, unlinked from nothing. Rebuilt instead.
            for idx in leavingByKey[k] ?? [] where !c.old.contains(where: { $0.index == idx }) { throw .rebuild }
            c.new = c.old.filter { !leaving.contains($0.index) }
            let arriving = addedByKey[k] ?? []
            for i in arriving { c.new.append((placedNew[i].index, added[i].rule)) }
            c.new.sort { $0.rule.rank < $1.rule.rank }
            let walked = RuleCompiler.walkedLength(c.new.lazy.map(\.rule))
            // A chain of narrowed rules grown too long: a whole build keys their shape whole.
            if walked.length > RuleCompiler.narrowedChainLimit {
                let narrowedNow = Set(arriving.filter { added[$0].narrowed }.map { placedNew[$0].index })
                let crowded = c.new.prefix(walked.length).contains { e in
                    narrowedNow.contains(e.index) || image.placed[e.rule.id].map { $0.narrowed && $0.index == e.index } == true
                }
                if crowded { throw .rebuild }
            }
            if let id = walked.overflow { throw .compile(.chainTooLong(id: id)) }
            let fresh = Set(arriving.map { placedNew[$0].index })
            var headRewritten = false
            for p in c.new.indices {
                var r = c.new[p].rule
                let next = p + 1 < c.new.count ? c.new[p + 1].index : HOLON_NO_SLOT
                if r.next != next || fresh.contains(c.new[p].index) {
                    r.next = next
                    c.new[p].rule = r
                    ruleWrites.append((c.new[p].index, r))
                    if p == 0 { headRewritten = true }
                }
            }
            let oldHead = c.old.first?.index, newHead = c.new.first?.index
            let shapeID = shapes[k.shape]?.id ?? image.shapes[k.shape]!.id
            // The key holds a copy of its head: written again when the head is another rule
            // or the same one changed (its `next`).
            if oldHead != newHead || headRewritten {
                let keyClass = k.shape.keyClass
                keyWrites.append((RuleCompiler.keyStruct(k, shapeID: shapeID), keyClass, c.new.first?.rule))
                // Bucketed keys are counted where the plan below puts them.
                if keyClass != HOLON_KEYS_BUCKETED {
                    if oldHead == nil { keyCounts[Int(keyClass.rawValue)] += 1 }
                    if newHead == nil { keyCounts[Int(keyClass.rawValue)] -= 1 }
                }
            }
        }
        // Rules no key reaches (contradictory predicates) are still stored, for their id.
        for (i, l) in added.enumerated() where l.key == nil { ruleWrites.append((placedNew[i].index, l.rule)) }
        // Bucketed keys: where each goes (its way, a free way, or the map of short keys),
        // deletions first so that the ways they free take the new keys.
        for (key, keyClass, head) in keyWrites.sorted(by: { ($0.2 == nil ? 0 : 1) < ($1.2 == nil ? 0 : 1) })
        where keyClass == HOLON_KEYS_BUCKETED {
            do { try plan.add(RuleCompiler.shortKey(key), head) } catch { throw .system(error) }
        }
        keyCounts[Int(HOLON_KEYS_SHORT.rawValue)] += plan.spilledDelta
        guard zip(keyCounts, image.keyCapacity).allSatisfy({ $0 <= $1 }) else { throw .rebuild }
        var shapesChanged = shapes.count != image.shapes.count
        for (sig, s) in shapes where !shapesChanged {
            if let was = image.shapes[sig] {
                shapesChanged = was.id != s.id || was.minRank != s.minRank || was.admits != s.admits
            } else { shapesChanged = true }
        }

        // Writes. A key is written after the rules it leads to; order does not matter to the
        // program (it does not read these maps now), only to keep the maps sane if this fails.
        func check(_ r: Int32, _ what: String) throws(EditProblem) {
            do { try DataplaneError.check(r, what) } catch { throw .system(error) }
        }
        for (i, l) in added.enumerated() {
            for (j, c) in l.checks.enumerated() {
                var k = placedNew[i].checkStart + UInt32(j)
                var v = c
                try check(bpf_map_update_elem(image.checksFD, &k, &v, UInt64(BPF_ANY)), "writing a check")
            }
        }
        for (index, rule) in ruleWrites {
            var k = index
            var v = rule
            try check(bpf_map_update_elem(image.rulesFD, &k, &v, UInt64(BPF_ANY)), "writing a rule")
        }
        for (key, keyClass, head) in keyWrites where head == nil && keyClass != HOLON_KEYS_BUCKETED {
            var k = key
            let r = bpf_map_delete_elem(image.headsFD(keyClass), &k)
            if r < 0 && errno != ENOENT { try check(r, "deleting a key") }
        }
        for (key, keyClass, head) in keyWrites where keyClass != HOLON_KEYS_BUCKETED {
            guard var h = head else { continue }
            var k = key
            try check(bpf_map_update_elem(image.headsFD(keyClass), &k, &h, UInt64(BPF_ANY)), "writing a key")
        }
        try plan.write(check)
        image.shapes = shapes
        if shapesChanged {
            do { try updateArray(image.shapesFD, image.shapeArray(), "shapes") } catch { throw .system(error) }
        }

        for (_, p) in removed { image.placed[p.rule.id] = nil }
        for p in placedNew { image.placed[p.rule.id] = p }
        image.freeRules = freeRules
        image.freeChecks = freeChecks
        image.rulesHigh = rulesHigh
        image.checksHigh = checksHigh
        image.keyCounts = keyCounts
        image.bucketedKeys += plan.placedDelta
        for r in diff.removed { image.digest &-= RuleState.ruleHash(r) }
        for r in diff.added { image.digest &+= RuleState.ruleHash(r) }
    }
}
