import CHolonXDP
import CLibBPF
import Glibc

/// One bucket of a generation's key buckets (`key_buckets_out`, holon_xdp_shared.h): up to
/// `HOLON_BUCKET_WAYS` keys of bucketed shapes, each with the first rule of its chain, and how
/// many of the bucket's keys went to the map of short keys because it was full.
extension holon_key_bucket {
    static let ways = Int(HOLON_BUCKET_WAYS)

    /// The bucket a key belongs in (the program computes the same, with the same function).
    static func index(of key: holon_short_key) -> UInt32 {
        var k = key
        return holon_bucket_of(&k)
    }

    func way(_ w: Int) -> holon_way {
        withUnsafeBytes(of: way) { $0.load(fromByteOffset: w * MemoryLayout<holon_way>.stride, as: holon_way.self) }
    }

    /// The way holding `key`, if one does.
    func find(_ key: holon_short_key) -> Int? {
        (0..<Self.ways).first { w in
            guard used & (1 << UInt32(w)) != 0 else { return false }
            let k = way(w).key
            return k.shape == key.shape && k.value.0 == key.value.0 && k.value.1 == key.value.1 && k.value.2 == key.value.2
        }
    }

    /// Puts `key` and its head in way `w` (or, with nil, empties it).
    mutating func set(_ w: Int, _ key: holon_short_key, _ head: holon_rule?) {
        let entry = head.map { holon_way(key: key, rule: $0) } ?? holon_way()
        withUnsafeMutableBytes(of: &way) { $0.storeBytes(of: entry, toByteOffset: w * MemoryLayout<holon_way>.stride, as: holon_way.self) }
        if head != nil { used |= 1 << UInt32(w) } else { used &= ~(1 << UInt32(w)) }
    }

    /// Puts `key` in a free way; false when the bucket is full.
    mutating func insert(_ key: holon_short_key, _ head: holon_rule) -> Bool {
        guard let w = (0..<Self.ways).first(where: { used & (1 << UInt32($0)) == 0 }) else { return false }
        set(w, key, head)
        return true
    }
}

/// A set of key writes for one generation's bucketed keys, planned in memory (buckets read
/// from the kernel once each, whether to find a key's head or to place it) and then written:
/// a key keeps the place it has (its way, or the map of short keys); a new one takes a free way
/// of its bucket, or spills when there is none.
struct BucketPlan {
    let bucketsFD: Int32
    let spillFD: Int32
    /// Buckets read so far, with the plan's changes.
    private var buckets: [UInt32: holon_key_bucket] = [:]
    /// Buckets the plan changes: the ones it writes.
    private var changed: Set<UInt32> = []
    /// Writes into the map of short keys (nil: delete).
    private(set) var spillWrites: [(holon_short_key, holon_rule?)] = []
    /// Change in the number of keys in ways, and in the map of short keys.
    private(set) var placedDelta = 0
    private(set) var spilledDelta = 0

    init(bucketsFD: Int32, spillFD: Int32) {
        self.bucketsFD = bucketsFD
        self.spillFD = spillFD
    }

    /// Bucket `b` as the kernel holds it (before this plan's writes).
    static func read(_ fd: Int32, _ b: UInt32) throws(DataplaneError) -> holon_key_bucket {
        var i = b
        var bucket = holon_key_bucket()
        try DataplaneError.check(bpf_map_lookup_elem(fd, &i, &bucket), "reading key bucket \(b)")
        return bucket
    }

    /// Bucket `b`, read from the kernel the first time.
    private mutating func bucket(_ b: UInt32) throws(DataplaneError) -> holon_key_bucket {
        if let known = buckets[b] { return known }
        let bucket = try Self.read(bucketsFD, b)
        buckets[b] = bucket
        return bucket
    }

    /// The head stored for `key` in the maps as they are, if any. Asked before any `add`.
    mutating func head(_ key: holon_short_key) throws(DataplaneError) -> holon_rule? {
        assert(changed.isEmpty, "heads are read from the maps as they are, before the plan changes them")
        let bucket = try bucket(holon_key_bucket.index(of: key))
        if let w = bucket.find(key) { return bucket.way(w).rule }
        guard bucket.spilled > 0 else { return nil }
        var k = key
        var head = holon_rule()
        return bpf_map_lookup_elem(spillFD, &k, &head) == 0 ? head : nil
    }

    /// Plans `key` → `head` (nil: the key goes). Each key at most once a plan; deletions are
    /// best planned first, so that the ways they free can take the plan's new keys.
    mutating func add(_ key: holon_short_key, _ head: holon_rule?) throws(DataplaneError) {
        let b = holon_key_bucket.index(of: key)
        var bucket = try bucket(b)
        defer {
            buckets[b] = bucket
            changed.insert(b)
        }
        if let w = bucket.find(key) {
            bucket.set(w, key, head)
            if head == nil { placedDelta -= 1 }
            return
        }
        var k = key
        var existing = holon_rule()
        if bucket.spilled > 0 && bpf_map_lookup_elem(spillFD, &k, &existing) == 0 {
            spillWrites.append((key, head))
            if head == nil {
                spilledDelta -= 1
                bucket.spilled -= 1
            }
            return
        }
        guard let head else { return }   // not there: nothing to delete
        if bucket.insert(key, head) {
            placedDelta += 1
        } else {
            spillWrites.append((key, head))
            spilledDelta += 1
            bucket.spilled += 1
        }
    }

    /// Writes the plan: the spill map's deletions, then its writes, then the buckets.
    func write(_ check: (Int32, String) throws(EditProblem) -> Void) throws(EditProblem) {
        for (key, head) in spillWrites where head == nil {
            var k = key
            let r = bpf_map_delete_elem(spillFD, &k)
            if r < 0 && errno != ENOENT { try check(r, "deleting a spilled key") }
        }
        for (key, head) in spillWrites {
            guard var h = head else { continue }
            var k = key
            try check(bpf_map_update_elem(spillFD, &k, &h, UInt64(BPF_ANY)), "writing a spilled key")
        }
        for b in changed {
            var i = b
            var v = buckets[b]!
            try check(bpf_map_update_elem(bucketsFD, &i, &v, UInt64(BPF_ANY)), "writing key bucket \(b)")
        }
    }
}
