import CHolonXDP
import CLibBPF
import Foundation
@testable import Dataplane
import Packets
import Rules
import Testing

/// Rules count their hits and drops in slots of a per-CPU array (`slot_ctrs`) while slots last,
/// by id in the `rule_ctrs` hash beyond: the same numbers either way, through replacements,
/// edits, action changes and removals, and across processes (`rule_slots` is the record).
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF"))
struct CounterSlotTests {
    /// UDP from 11.0.0.i to port 9, and a frame matching rule `i` alone.
    static func rule(_ i: Int, action: Action = .drop) -> Rule {
        Rule(id: UInt32(i), match: [.equals(.proto, 17), .prefix(.srcIP, .v4(0x0B00_0000 &+ UInt32(i)), length: 32),
                                    .equals(.dstPort, 9)], action: action, priority: 10)
    }

    static func frame(_ i: Int) -> [UInt8] {
        PacketBuilder.bytes(.udp4(source: 0x0B00_0000 &+ UInt32(i), destination: 0x0A4D_0002, sourcePort: 1234,
                                  destinationPort: 9, frameLength: 64))
    }

    static func slot(_ dp: Dataplane, _ id: UInt32) -> UInt32? {
        var k = id
        var s: UInt32 = 0
        return bpf_map_lookup_elem(dp.fd(.ruleSlots), &k, &s) == 0 ? s : nil
    }

    @Test func rulesBeyondTheSlotsCountTheSameByID() throws {
        let dp = try Dataplane.transient()
        let n = Int(HOLON_COUNTER_SLOTS) + 2_000
        try dp.install((0..<n).map { Self.rule($0) })
        // Equal priorities: rank order is id order, so the first 65,535 ids hold the slots.
        #expect(Self.slot(dp, 0) != nil)
        #expect(Self.slot(dp, UInt32(HOLON_COUNTER_SLOTS) - 2) != nil)
        #expect(Self.slot(dp, UInt32(n - 1)) == nil, "the slots are 65,535")
        for (id, times) in [(0, 7), (n - 1, 5), (40_000, 3)] {
            for _ in 0..<times { #expect(try dp.testRun(Self.frame(id)).action == .drop) }
        }
        #expect(dp.counters(forRule: 0) == RuleCounters(hits: 7, drops: 7))
        #expect(dp.counters(forRule: UInt32(n - 1)) == RuleCounters(hits: 5, drops: 5))
        #expect(dp.counters(forRule: 40_000) == RuleCounters(hits: 3, drops: 3))
        #expect(dp.counters(forRule: 1) == RuleCounters())
        let all = dp.allCounters()
        #expect(all == [0: RuleCounters(hits: 7, drops: 7), UInt32(n - 1): RuleCounters(hits: 5, drops: 5),
                        40_000: RuleCounters(hits: 3, drops: 3)])
    }

    @Test func countersFollowTheRuleThroughChanges() throws {
        let dp = try Dataplane.transient()
        try dp.install([Self.rule(1), Self.rule(2)])
        for _ in 0..<4 { _ = try dp.testRun(Self.frame(1)) }
        // Replaced whole, and edited in place: the same id and action keep their counts.
        try dp.install([Self.rule(1), Self.rule(2), Self.rule(3)], rebuild: true)
        try dp.settle()
        try dp.add([Self.rule(4)])
        try dp.settle()
        #expect(dp.counters(forRule: 1) == RuleCounters(hits: 4, drops: 4))
        // A new action starts from zero (whole and in place).
        try dp.install([Self.rule(1, action: .count), Self.rule(2), Self.rule(3), Self.rule(4)])
        try dp.settle()
        #expect(dp.counters(forRule: 1) == RuleCounters())
        _ = try dp.testRun(Self.frame(1))
        #expect(dp.counters(forRule: 1) == RuleCounters(hits: 1, drops: 0))
        for _ in 0..<2 { _ = try dp.testRun(Self.frame(2)) }
        try dp.install([Self.rule(1, action: .count), Self.rule(2), Self.rule(3), Self.rule(4)], rebuild: true)
        try dp.update { $0.map { $0.id == 2 ? Self.rule(2, action: .count) : $0 } }
        #expect(dp.counters(forRule: 2) == RuleCounters())
        // A rule that leaves frees its slot; coming back, it starts from zero.
        let slot3 = try #require(Self.slot(dp, 3))
        for _ in 0..<3 { _ = try dp.testRun(Self.frame(3)) }
        _ = try dp.delete(ids: [3])
        try dp.settle()
        #expect(Self.slot(dp, 3) == nil)
        #expect(dp.counters(forRule: 3) == RuleCounters())
        try dp.add([Self.rule(3)])
        let again = try #require(Self.slot(dp, 3))
        #expect(again != slot3, "a freed slot is handed out again only after the others")
        #expect(dp.counters(forRule: 3) == RuleCounters())
        _ = try dp.testRun(Self.frame(3))
        #expect(dp.counters(forRule: 3) == RuleCounters(hits: 1, drops: 1))
        // Emptied: every slot is free again.
        try dp.install([])
        #expect(CounterSlots.entries(dp.fd(.ruleSlots)).isEmpty)
        #expect(dp.allCounters().isEmpty)
    }

    @Test func twoProcessesHandOutDistinctSlots() throws {
        let t = try TestLab("ctrs")
        defer { t.close() }
        let other = try Dataplane.open(t.options)
        try t.dataplane.add([Self.rule(1)])
        try other.add([Self.rule(2)])
        try t.dataplane.add([Self.rule(3)])
        try other.add([Self.rule(4)])
        let slots = try (1...4).map { try #require(Self.slot(t.dataplane, UInt32($0))) }
        #expect(Set(slots).count == 4, "slots \(slots)")
        for i in 1...4 {
            for _ in 0..<i { _ = try t.dataplane.testRun(Self.frame(i)) }
        }
        for i in 1...4 {
            #expect(other.counters(forRule: UInt32(i)) == RuleCounters(hits: UInt64(i), drops: UInt64(i)))
        }
        #expect(try Dataplane.open(t.options).allCounters().count == 4)
    }
}

/// A filter an earlier version attached lacks this version's maps: `filter attach` hands its
/// link to this version's program, keeping rules and counters, and the interface stays filtered.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: namespaces, veth, XDP"))
struct LiveUpgradeTests {
    @Test func attachUpgradesAFilterAnEarlierVersionLeft() throws {
        let t = try TestLab("upgr")
        defer { t.close() }
        let rule = Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop)
        try t.dataplane.install([rule])
        t.sender.send((0..<100).map { Frames.udp(sequence: $0) })
        _ = try t.settle(packets: 100)
        let before = t.dataplane.programFD
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        try #require(bpf_obj_get_info_by_fd(before, &info, &len) == 0)
        let oldID = info.id
        // What a filter of the version before counter slots looks like: no slot maps, and its
        // rules counted by id (here, 100 hits as that version would have recorded them).
        // Nor chain heads: its keys map held indices (`keys_out`). Nor short keys.
        try Self.asEarlierVersionWroteIt(t.dataplane)
        let legacy = try Self.legacyKeys(t.dataplane).fd
        defer { close(legacy) }
        let legacyPin = "\(t.options.pinDirectory)/\(LegacyKeys.name)"
        try #require(bpf_obj_pin(legacy, legacyPin) == 0)
        for m in [XDPMap.slotCounters, .ruleSlots, .headsOut, .shortHeadsOut, .keyBucketsOut] { unlink("\(t.options.pinDirectory)/\(m.name)") }
        var id: UInt32 = 1
        var byID = [holon_rule_counters](repeating: holon_rule_counters(), count: Dataplane.possibleCPUs)
        byID[0] = holon_rule_counters(hits: 100, drops: 100)
        try #require(bpf_map_update_elem(t.dataplane.fd(.ruleCounters), &id, &byID, UInt64(BPF_ANY)) == 0)
        #expect(throws: DataplaneError.self) { _ = try Dataplane.open(t.options) }

        let (dp, _) = try Dataplane.attach(t.options)
        info = bpf_prog_info()
        len = UInt32(MemoryLayout<bpf_prog_info>.size)
        try #require(bpf_obj_get_info_by_fd(dp.programFD, &info, &len) == 0)
        #expect(info.id != oldID, "the link runs the new program")
        #expect(!FileManager.default.fileExists(atPath: legacyPin), "keys_out carried over, then unpinned")
        for m in [XDPMap.slotCounters, .ruleSlots, .headsOut, .shortHeadsOut, .keyBucketsOut] {
            #expect(FileManager.default.fileExists(atPath: "\(t.options.pinDirectory)/\(m.name)"), "\(m.name) pinned")
        }
        let reopened = try Dataplane.open(t.options)
        #expect(reopened.rules == [rule])
        #expect(reopened.counters(forRule: 1) == RuleCounters(hits: 100, drops: 100), "counted by id before")
        #expect(CounterSlotTests.slot(reopened, 1) != nil, "the table was written again with slots")
        t.sender.send((0..<50).map { Frames.udp(sequence: $0) })
        _ = try t.settle(packets: 150)
        #expect(reopened.counters(forRule: 1) == RuleCounters(hits: 150, drops: 150))
        try reopened.add([Rule(id: 2, match: [.equals(.proto, 6)], action: .drop)])
        t.sender.send((0..<25).map { Frames.udp(sequence: $0) })
        _ = try t.settle(packets: 175)
        #expect(reopened.counters(forRule: 1) == RuleCounters(hits: 175, drops: 175))
    }

    /// `holon filter attach` killed mid-upgrade, after this version's maps were pinned and
    /// before the link was handed over: the earlier program may still run, reading `keys_out`,
    /// which this version does not write. Opening such a filter is refused with the one-line
    /// reason, and the next attach finishes the upgrade.
    @Test func anUpgradeCutShortIsFinishedByTheNextAttach() throws {
        let t = try TestLab("upcut")
        defer { t.close() }
        let rule = Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop)
        try t.dataplane.install([rule])
        try Self.asEarlierVersionWroteIt(t.dataplane)
        let legacy = try Self.legacyKeys(t.dataplane).fd
        defer { close(legacy) }
        let legacyPin = "\(t.options.pinDirectory)/\(LegacyKeys.name)"
        try #require(bpf_obj_pin(legacy, legacyPin) == 0)
        do {
            _ = try Dataplane.open(t.options)
            Issue.record("opened a filter whose upgrade was cut short")
        } catch {
            guard case .takeoverCutShort = error else { Issue.record("\(error)"); return }
            #expect("\(error)".contains("`holon filter attach`"))
        }

        _ = try Dataplane.attach(t.options)
        #expect(!FileManager.default.fileExists(atPath: legacyPin))
        let reopened = try Dataplane.open(t.options)
        #expect(reopened.rules == [rule])
        t.sender.send((0..<40).map { Frames.udp(sequence: $0) })
        _ = try t.settle(packets: 40)
        #expect(reopened.counters(forRule: 1) == RuleCounters(hits: 40, drops: 40))
    }

    /// Filters of the versions before short keys (all keys in `heads_out`, shapes of key class
    /// 0) and before key buckets (keys of up to 3 fields in `short_heads_out`, class 1), neither
    /// with `key_buckets_out`. This version's program reads such a generation as it is (so the
    /// link can change hands with no gap), and attach writes the table again into buckets.
    @Test(arguments: [HOLON_KEYS_WIDE.rawValue, HOLON_KEYS_SHORT.rawValue])
    func aFilterOfAnEarlierKeyLayoutIsTakenOver(layout: UInt32) throws {
        let t = try TestLab("uplay\(layout)")
        defer { t.close() }
        let rules = [Rule(id: 1, match: [.equals(.proto, 17), .equals(.dstPort, 9)], action: .drop),
                     Rule(id: 2, match: [.equals(.proto, 6), .equals(.srcPort, 1), .equals(.dstPort, 2), .equals(.ttl, 3)], action: .drop)]
        try t.dataplane.install(rules)
        try Self.asEarlierVersionWroteIt(t.dataplane, layout: holon_key_class(layout))
        let missing = layout == HOLON_KEYS_WIDE.rawValue ? [XDPMap.shortHeadsOut, .keyBucketsOut] : [.keyBucketsOut]
        for m in missing { unlink("\(t.options.pinDirectory)/\(m.name)") }
        t.sender.send((0..<30).map { Frames.udp(sequence: $0) })
        _ = try t.settle(packets: 30)
        #expect(t.dataplane.counters(forRule: 1) == RuleCounters(hits: 30, drops: 30), "an earlier generation is read as it is")
        do {
            _ = try Dataplane.open(t.options)
            Issue.record("opened a filter without \(missing[0].name)")
        } catch {
            guard case .outdatedFilter(_, let name) = error else { Issue.record("\(error)"); return }
            #expect(name == missing[0].name)
        }

        let (dp, _) = try Dataplane.attach(t.options)
        for m in missing { #expect(FileManager.default.fileExists(atPath: "\(t.options.pinDirectory)/\(m.name)")) }
        let g = try dp.config().gen & 1
        let image = try #require(dp.images[Int(g)], "the table was written again")
        // Rule 2's four fields are narrowed to three (RuleCompiler.narrowedChainLimit): both keys bucketed.
        #expect(image.bucketedKeys == 2 && image.keyCounts == [0, 0], "both keys bucketed")
        t.sender.send((0..<20).map { Frames.udp(sequence: $0) })
        _ = try t.settle(packets: 50)
        #expect(dp.counters(forRule: 1) == RuleCounters(hits: 50, drops: 50))
    }

    /// A takeover cut short before the link changed hands leaves the maps this version adds
    /// unpinned: the next `holon` then finds the filter outdated (and attaches again) rather
    /// than writing short keys the earlier program, still on the link, never reads. Here the
    /// takeover stops where the link is opened (its pin taken away for the while).
    @Test func aTakeoverCutShortPinsNoNewMap() throws {
        let t = try TestLab("upnopin")
        defer { t.close() }
        try t.dataplane.install([Rule(id: 1, match: [.equals(.proto, 17)], action: .drop)])
        let dir = t.options.pinDirectory
        unlink("\(dir)/\(XDPMap.keyBucketsOut.name)")
        let link = bpf_obj_get("\(dir)/link")   // held open: the link lives on unpinned
        try #require(link >= 0)
        defer { close(link) }
        try #require(unlink("\(dir)/link") == 0)
        #expect(throws: DataplaneError.self) { _ = try Dataplane.upgradeLive(t.options) }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/\(XDPMap.keyBucketsOut.name)"), "pinned before the link changed hands")
        try #require(bpf_obj_pin(link, "\(dir)/link") == 0)
        #expect(throws: DataplaneError.self) { _ = try Dataplane.open(t.options) }
        _ = try Dataplane.attach(t.options)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/\(XDPMap.keyBucketsOut.name)"))
        _ = try Dataplane.open(t.options)
    }

    /// A filter from before chain heads keeps `keys_out` (key → the index of the chain's first
    /// rule). Its keys are carried over before the new program takes the link: with the heads
    /// emptied, every frame passes (the window the carry-over closes); carried over, each frame
    /// meets its rule again, down a chain of three included.
    @Test func keysOfAnEarlierFilterBecomeChainHeads() throws {
        let dp = try Dataplane.transient()
        let udp9: [Rules.Predicate] = [.equals(.proto, 17), .equals(.dstPort, 9)]
        try dp.install([
            Rule(id: 1, match: udp9 + [.range(.srcPort, 1000...1999)], action: .drop, priority: 30),
            Rule(id: 2, match: udp9 + [.range(.srcPort, 2000...2999)], action: .count, priority: 20),
            Rule(id: 3, match: udp9, action: .drop, priority: 10),
            Rule(id: 4, match: [.prefix(.srcIP, .v4(0x0C00_0000), length: 8)], action: .drop, priority: 5),
        ])
        func frame(_ source: UInt32, _ port: UInt16, _ dst: UInt16 = 9) -> [UInt8] {
            PacketBuilder.bytes(.udp4(source: source, destination: 0x0A4D_0002, sourcePort: port, destinationPort: dst, frameLength: 64))
        }
        let cases: [(frame: [UInt8], action: XDPAction, rule: UInt32?)] = [
            (frame(0x0B00_0001, 1500), .drop, 1), (frame(0x0B00_0001, 2500), .pass, 2),
            (frame(0x0B00_0001, 5000), .drop, 3), (frame(0x0C00_0001, 5000, 80), .drop, 4),
            (frame(0x0B00_0001, 5000, 80), .pass, nil),
        ]

        try Self.asEarlierVersionWroteIt(dp)
        for c in cases { #expect(try dp.testRun(c.frame).action == c.action, "all keys wide, as an earlier version wrote them") }
        let (legacy, keys) = try Self.legacyKeys(dp)
        defer { close(legacy) }
        #expect(keys == 2, "two keys: the chain of three, and the prefix")
        var slot = try dp.config().gen & 1

        // A new program on the earlier filter's maps: no heads yet.
        try #require(bpf_map_delete_elem(dp.fd(.headsOut), &slot) == 0)
        for c in cases { #expect(try dp.testRun(c.frame).action == .pass, "no key without heads") }

        #expect(try LegacyKeys.carryOver(legacy, into: dp))
        for c in cases {
            let before = c.rule.map { dp.counters(forRule: $0).hits }
            #expect(try dp.testRun(c.frame).action == c.action)
            if let id = c.rule { #expect(dp.counters(forRule: id).hits == before! + 1, "rule \(id) matched") }
        }
        // Heads there already (an upgrade cut short and run again, or a generation this version
        // wrote since): never carried over again, as keys_out may no longer fit the rules array.
        #expect(try !LegacyKeys.carryOver(legacy, into: dp))
        try dp.install([Rule(id: 9, match: [.equals(.proto, 17)], action: .drop)])
        #expect(try !LegacyKeys.carryOver(legacy, into: dp), "a generation this version wrote")
        #expect(try dp.testRun(frame(0x0B00_0001, 5000, 80)).action == .drop)
    }

    /// Makes the active generation of `dp` what an earlier version wrote: with `layout`
    /// HOLON_KEYS_WIDE (before short keys) every key in `heads_out` and every shape of key class
    /// 0; with HOLON_KEYS_SHORT (before key buckets) the keys of up to 3 fields in
    /// `short_heads_out` and their shapes of class 1. No key buckets either way. This process's
    /// image of the generation is forgotten, as a new process would not have one.
    static func asEarlierVersionWroteIt(_ dp: Dataplane, layout: holon_key_class = HOLON_KEYS_WIDE) throws {
        let g = try dp.config().gen & 1
        let image = try #require(dp.images[Int(g)])
        let wide = try dp.createInner(.headsOut, entries: image.keyCount + 1)
        defer { close(wide) }
        let short = try dp.createInner(.shortHeadsOut, entries: image.keyCount + 1)
        defer { close(short) }
        func put(_ k: holon_short_key, _ head: holon_rule) throws {
            var key = holon_key()
            key.shape = k.shape
            key.value.0 = k.value.0
            key.value.1 = k.value.1
            key.value.2 = k.value.2
            var h = head
            // A short map reads the first bytes of a holon_key.
            try #require(bpf_map_update_elem(layout == HOLON_KEYS_WIDE ? wide : short, &key, &h, UInt64(BPF_ANY)) == 0)
        }
        func each<K>(_ from: Int32, _ empty: K, _ body: (K, holon_rule) throws -> Void) throws {
            var key = empty, next = empty
            var first = true
            while (first ? bpf_map_get_next_key(from, nil, &next) : bpf_map_get_next_key(from, &key, &next)) == 0 {
                first = false
                var head = holon_rule()
                var k = next
                try #require(bpf_map_lookup_elem(from, &k, &head) == 0)
                try body(next, head)
                key = next
            }
        }
        try each(image.headsFD(HOLON_KEYS_WIDE), holon_key()) { k, head in
            var key = k
            var h = head
            try #require(bpf_map_update_elem(wide, &key, &h, UInt64(BPF_ANY)) == 0)
        }
        try each(image.headsFD(HOLON_KEYS_SHORT), holon_short_key(), put)
        for b in 0..<HOLON_KEY_BUCKETS {
            let bucket = try BucketPlan.read(image.bucketsFD, b)
            for w in 0..<holon_key_bucket.ways where bucket.used & (1 << UInt32(w)) != 0 {
                try put(bucket.way(w).key, bucket.way(w).rule)
            }
        }
        for i in 0..<UInt32(HOLON_MAX_SHAPES) {
            var idx = i
            var sh = holon_shape()
            try #require(bpf_map_lookup_elem(image.shapesFD, &idx, &sh) == 0)
            if layout == HOLON_KEYS_WIDE || sh.key_class != UInt8(HOLON_KEYS_WIDE.rawValue) { sh.key_class = UInt8(layout.rawValue) }
            try #require(bpf_map_update_elem(image.shapesFD, &idx, &sh, UInt64(BPF_ANY)) == 0)
        }
        var slot = g
        var value = wide
        try #require(bpf_map_update_elem(dp.fd(.headsOut), &slot, &value, UInt64(BPF_ANY)) == 0)
        if layout == HOLON_KEYS_WIDE {
            try #require(bpf_map_delete_elem(dp.fd(.shortHeadsOut), &slot) == 0)
        } else {
            value = short
            try #require(bpf_map_update_elem(dp.fd(.shortHeadsOut), &slot, &value, UInt64(BPF_ANY)) == 0)
        }
        try #require(bpf_map_delete_elem(dp.fd(.keyBucketsOut), &slot) == 0)
        dp.images[Int(g)] = nil
    }

    /// Where each rule of generation `g` sits in its rules array, read from the array (slots
    /// never written hold id 0, which these tests' rules do not use).
    static func ruleIndices(_ dp: Dataplane, generation g: UInt32) throws -> [UInt32: UInt32] {
        let rules = try #require(try Dataplane.innerMap(dp.fd(.rulesOut), g, "rules"))
        defer { close(rules) }
        var found: [UInt32: UInt32] = [:]
        var i: UInt32 = 0
        var r = holon_rule()
        while bpf_map_lookup_elem(rules, &i, &r) == 0 {
            if r.id != 0, found[r.id] == nil { found[r.id] = i }
            i += 1
        }
        return found
    }

    /// The `keys_out` of a filter from before chain heads, made from `dp`'s heads: the outer
    /// map (its generation's slot filled), to close, and how many keys it holds.
    static func legacyKeys(_ dp: Dataplane) throws -> (fd: Int32, keys: Int) {
        let g = try dp.config().gen & 1
        let heads = try #require(try Dataplane.innerMap(dp.fd(.headsOut), g, "heads"))
        defer { close(heads) }
        let placed = try Self.ruleIndices(dp, generation: g)
        var o = bpf_map_create_opts()
        o.sz = MemoryLayout<bpf_map_create_opts>.size
        let inner = bpf_map_create(BPF_MAP_TYPE_HASH, "legacy_keys", UInt32(MemoryLayout<holon_key>.size), 4, 64, &o)
        try #require(inner >= 0)
        defer { close(inner) }
        var key = holon_key(), next = holon_key()
        var keys = 0
        while (keys == 0 ? bpf_map_get_next_key(heads, nil, &next) : bpf_map_get_next_key(heads, &key, &next)) == 0 {
            var head = holon_rule()
            var k = next
            try #require(bpf_map_lookup_elem(heads, &k, &head) == 0)
            var index = try #require(placed[head.id])
            try #require(bpf_map_update_elem(inner, &k, &index, UInt64(BPF_ANY)) == 0)
            key = next
            keys += 1
        }
        var oo = bpf_map_create_opts()
        oo.sz = MemoryLayout<bpf_map_create_opts>.size
        oo.inner_map_fd = UInt32(inner)
        let legacy = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "keys_out", 4, 4, 2, &oo)
        try #require(legacy >= 0)
        var slot = g
        var value = inner
        try #require(bpf_map_update_elem(legacy, &slot, &value, UInt64(BPF_ANY)) == 0)
        return (legacy, keys)
    }
}
