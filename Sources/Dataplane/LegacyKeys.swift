import CHolonXDP
import CLibBPF
import Glibc

/// The rule table's keys as a filter of an earlier version keeps them: `keys_out`, whose inner
/// maps hold, per key, the index of the chain's first rule in the rules array. This version's
/// program reads `heads_out` instead (the first rule itself, a lookup fewer per packet), which
/// such a filter does not have.
///
/// Taking over such a filter (``Dataplane/upgradeLive(_:)``), the new program would find no
/// key at all until the table is written again: every packet passed for as long as that takes.
/// So, before the program changes, the heads of the generation the filter enforces are built
/// from its own keys and rules; from its first packet, the new program matches what the old
/// one did.
enum LegacyKeys {
    /// The pin name of the earlier versions' map.
    static let name = "keys_out"

    /// Fills `dp`'s `heads_out` slot of the generation its config enforces from `legacy` (a
    /// `keys_out` map) and the same generation's rules. False when that generation has no
    /// keys map (no table: nothing to carry over), or already has heads: an upgrade cut short
    /// (killed after this step) carried them over, or this version wrote that generation
    /// since, and then `keys_out` no longer describes its rules array; carried over again,
    /// its stale indices would point packets at the wrong rules.
    static func carryOver(_ legacy: Int32, into dp: Dataplane) throws(DataplaneError) -> Bool {
        var g = try dp.config().gen & 1
        if let heads = try Dataplane.innerMap(dp.fd(.headsOut), g, "generation \(g)'s chain heads") {
            close(heads)
            return false
        }
        guard let keys = try Dataplane.innerMap(legacy, g, "the earlier filter's keys (generation \(g))") else { return false }
        defer { close(keys) }
        guard let rules = try Dataplane.innerMap(dp.fd(.rulesOut), g, "the earlier filter's rules (generation \(g))") else {
            throw .system("reading the earlier filter's rules (generation \(g))", code: ENOENT)
        }
        defer { close(rules) }
        var heads: [(holon_key, holon_rule)] = []
        var key = holon_key(), next = holon_key()
        var r = bpf_map_get_next_key(keys, nil, &next)
        while r == 0 {
            var index: UInt32 = 0
            var k = next
            if bpf_map_lookup_elem(keys, &k, &index) == 0 {
                var rule = holon_rule()
                try DataplaneError.check(bpf_map_lookup_elem(rules, &index, &rule), "reading the earlier filter's rule \(index)")
                heads.append((next, rule))
            }
            key = next
            r = bpf_map_get_next_key(keys, &key, &next)
        }
        let fd = try dp.createInner(.headsOut, entries: max(1, heads.count))
        defer { close(fd) }
        try dp.updateBatch(fd, keys: heads.map(\.0), values: heads.map(\.1), "chain heads")
        var value = fd
        try DataplaneError.check(bpf_map_update_elem(dp.fd(.headsOut), &g, &value, UInt64(BPF_ANY)), "placing the chain heads")
        return true
    }
}
