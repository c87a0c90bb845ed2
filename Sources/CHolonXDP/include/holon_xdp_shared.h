// The one header the XDP program (bpf/holon_xdp.bpf.c) and the Swift loader (Dataplane) share:
// map layouts, value structs and constants. Change it and both sides rebuild.
//
// Only uapi types (<linux/types.h>, <linux/bpf.h>), so it compiles for `-target bpf` and the host.
#ifndef HOLON_XDP_SHARED_H
#define HOLON_XDP_SHARED_H

#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */

// ---- Fields -------------------------------------------------------------------------------
// Field ids, slots, widths, carriers and the size-class / port-band thresholds: the field table.
#include "holon_fields.h"

// ---- Table limits ---------------------------------------------------------------------------
// Per-packet work is bounded by these, never by the number of rules.
#define HOLON_MAX_SHAPES 64      /* distinct (field, mask) sets in one table */
#define HOLON_MAX_KEY_ELEMS 8    /* hashed fields per shape; more spill into checks */
#define HOLON_SHORT_KEY_ELEMS 3  /* shapes of up to this many fields key a map of short keys */
#define HOLON_MAX_CHECKS 8       /* ranges (and spilled masks) verified per rule */
#ifndef HOLON_MAX_CHAIN_OVERRIDE
#define HOLON_MAX_CHAIN 32
#else
#define HOLON_MAX_CHAIN HOLON_MAX_CHAIN_OVERRIDE
#endif
/* HOLON_MAX_CHAIN: rules sharing one shape+key that differ only by checks */
#define HOLON_MAX_RULES (1u << 21)
/* Counter slots (slot_ctrs, per CPU: 1 MB a CPU). Index 0 is unused (holon_rule.ctr 0 means
 * none), so 65,535 rules count in slots; the rest in the rule_ctrs hash. */
#define HOLON_COUNTER_SLOTS (1u << 16)
#define HOLON_NO_SLOT 0xFFFFFFFFu
#define HOLON_SAMPLE_BYTES 256
#define HOLON_RING_BYTES (1u << 23)

// One shape: which fields (and masks) make up the hash key of its rules. Shapes are stored
// sorted by `min_rank`, so the search stops once no remaining shape can beat the best match.
// `id` is what keys of the shape carry: stable while the shape lives, so a change that moves a
// shape in the order rewrites the small shapes array, never the keys.
// A shape with `plen` > 0 also keys on a window of the payload: the 8 bytes at `poff`
// (little-endian, as a HOLON_C_BYTES check reads them), read into slot HOLON_F_PAYLOAD_KEY before
// the key is built and present when the payload holds `poff + plen` bytes. Rules that differ
// only by their byte predicates then differ by key, not by a chain of checks.
struct holon_shape {
    __u64 min_rank;          /* best (lowest) rank among the shape's rules, or lower */
    __u32 id;
    __u32 nelems;
    __u8 field[HOLON_MAX_KEY_ELEMS];
    __u64 mask[HOLON_MAX_KEY_ELEMS];
    __u16 poff;
    __u8 plen;               /* 0: no payload window */
    __u8 key_class;          /* enum holon_key_class: the map its keys are in */
    __u32 proto_skip;        /* holon_proto_bit of the protocols none of its rules takes */
};

// Protocol p as one of 32 bits (p & 31; protocols 32 apart share a bit). A shape whose
// `proto_skip` holds the packet's bit has no rule the packet can match, and the program skips
// it without building its key: a real user's packet walks the shapes of an attack's vectors
// (SYN, ICMP, UDP reflections, …) and now stops early at those of other protocols. Only a rule
// that equals one protocol narrows its shape's bits; 0, as every earlier version wrote it (the
// field was padding), skips nothing.
static inline __u32 holon_proto_bit(__u64 proto) { return 1u << (proto & 31); }

// Where a shape's keys are. A hash map hashes and compares its whole key, so a shape of few
// fields keys a map of short keys (~12 ns less a packet than the same key padded to
// HOLON_MAX_KEY_ELEMS); and a hash map's lookup is a chain of kernel calls, each paying this
// machine class's return thunk, where an array's is inlined: a bucketed shape's keys are first
// in the generation's key buckets (one inlined lookup and a compare, ~27 ns less a matched
// packet), and only those a full bucket could not take are in the map of short keys.
// Shapes earlier versions wrote read 0 (wide) or 1 (short, no buckets): read as they are.
enum holon_key_class { HOLON_KEYS_WIDE = 0, HOLON_KEYS_SHORT = 1, HOLON_KEYS_BUCKETED = 2 };

// Hash key: shape id then masked field values; unused elements are zero.
struct holon_key {
    __u32 shape;
    __u32 pad;
    __u64 value[HOLON_MAX_KEY_ELEMS];
};
// The key of a short or bucketed shape: the first bytes of its holon_key (the rest of which are
// zeros), so both sides build one holon_key and hand a short map a pointer to it.
struct holon_short_key {
    __u32 shape;
    __u32 pad;
    __u64 value[HOLON_SHORT_KEY_ELEMS];
};
_Static_assert(sizeof(struct holon_short_key) == __builtin_offsetof(struct holon_key, value[HOLON_SHORT_KEY_ELEMS]),
               "a short key is a prefix of the wide one");

// A rule, at an index of the rules array the loader allocates (any free index: an insert moves
// no other rule). Order is by `rank` = (INT32_MAX - priority) << 32 | id, lower wins: the
// order RuleTable evaluates rules in (priority desc, id asc), fixed by the rule alone, so a
// change never renumbers the rules it does not touch.
enum holon_action {
    HOLON_A_DROP = 0, HOLON_A_PASS = 1, HOLON_A_COUNT = 2, HOLON_A_RATE = 3,
    HOLON_A_SYNAUTH = 4,     /* pass a SYN once its retransmission authenticated the source (syn_pending, syn_ok) */
    HOLON_A_FLOWCHECK = 5    /* pass a packet of a connection the host has (flows, filled by holon_egress) */
};
struct holon_rule {
    __u64 rank;
    __u32 id;
    __u32 next;              /* index of the next rule with the same shape+key (higher rank), HOLON_NO_SLOT at the end */
    __u32 check_start;       /* index into the checks array */
    __u8 action;             /* enum holon_action */
    __u8 nchecks;
    /* Counter slot + 1 in slot_ctrs (an array: its lookup is inlined, where a hash lookup costs
     * ~25 ns a matched packet); 0: the rule is counted in rule_ctrs by id. Slots belong to rule
     * ids (rule_slots), so both generations agree and a table replacement keeps them. */
    __u16 ctr;
    /* CLOCK_BOOTTIME ns (bpf_ktime_get_boot_ns) from which the rule no longer matches; 0 = never.
     * A rule's TTL holds in the kernel even when no holon run is there to remove it. */
    __u64 expires_ns;
};

// Key buckets: a fixed array per generation (fixed, so its lookup is inlined), each bucket
// holding up to HOLON_BUCKET_WAYS keys of bucketed shapes with the first rule of their chain.
// A key goes in the bucket its hash names; when that bucket is full it goes in the map of
// short keys instead, and the bucket counts it in `spilled`, so a packet whose key is not in
// its bucket looks further only when the bucket has spilled. 2^16 buckets of 4: 17 MB a
// generation; keys spilled: 0.1 % at 50,000 keys, 1.8 % at 100,000, 11 % at 200,000.
#define HOLON_KEY_BUCKETS (1u << 16)
#define HOLON_BUCKET_WAYS 4
struct holon_way {
    struct holon_short_key key;
    struct holon_rule rule;
};
struct holon_key_bucket {
    struct holon_way way[HOLON_BUCKET_WAYS];
    __u32 used;              /* bit w: way[w] holds a key (zeros, as a new array holds, hold none) */
    __u32 spilled;           /* keys of this bucket in the map of short keys */
};

// The bucket of a key, the same in the program and the loader (this one definition is what
// both call). Each word is multiplied by its own odd constant (the four products are
// independent, so the CPU computes them side by side), then one 64-bit finalizer (splitmix64's)
// carries every input bit to every output bit: keys that differ in a few low bits
// (consecutive addresses, the common table) spread over all buckets. Mixing the words in one
// after the other through the finalizer spread them as well but cost ~10 ns a packet more:
// its multiplications then wait on each other. Always inlined: left to clang, the program
// called it as a function of its own, a return through this CPU's thunk (~8 ns) a packet.
static inline __attribute__((always_inline)) __u32 holon_bucket_of(const struct holon_short_key *k)
{
    __u64 h = (k->shape + 1ull) * 0xD6E8FEB86659FD93ull ^ k->value[0] * 0x9E3779B97F4A7C15ull ^
              k->value[1] * 0xC2B2AE3D27D4EB4Full ^ k->value[2] * 0x165667B19E3779F9ull;
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBull;
    h ^= h >> 31;
    return (__u32)(h >> 32) & (HOLON_KEY_BUCKETS - 1);
}

// A predicate not in the hash key: a range, or a mask that did not fit in the key.
// A byte predicate of n bytes is ⌈n/8⌉ BYTES checks, one per 8-byte window of the payload: the
// window at `offset` read little-endian (byte `offset` lowest), masked by `a`, must equal `b`,
// and the payload must hold `offset + len` bytes (`len` = the predicate's bytes in this window;
// `a` is zero past them).
enum holon_check_kind { HOLON_C_RANGE = 0, HOLON_C_MASK = 1, HOLON_C_BYTES = 2 };
struct holon_check {
    __u8 field;              /* range, mask: the field's slot */
    __u8 kind;
    __u16 offset;            /* bytes: first payload byte of the window, ≤ HOLON_PAYLOAD_REACH - 8 */
    __u8 len;                /* bytes: 1…8 */
    __u8 pad[3];
    __u64 a;                 /* range: lo; mask: mask; bytes: mask */
    __u64 b;                 /* range: hi; mask: value; bytes: value */
};
/* Payload bytes a byte predicate may reach: offset ≤ 256, 64 bytes (Rules' PayloadMatch.maxEnd). */
#define HOLON_PAYLOAD_REACH 320

// ---- Configuration ----------------------------------------------------------------------------
struct holon_table_info {
    __u32 nshapes;
    __u32 nrules;
    /* User space only: digest of the table's rule text, so a later process can tell whether the
     * rule state file it reads is the table this generation enforces. */
    __u64 digest;
    /* User space only: a random number drawn each time the generation's maps are completely
     * written, 0 while they are being written. A loader that remembers the layout it wrote
     * (where each rule sits) may edit the maps in place only while the stamp is still the one
     * it drew; anything else (another process, a crash mid-write) makes it rebuild them. */
    __u64 stamp;
};

// Single element of the config array. The loader writes the inactive generation's info first
// and flips `gen` last; `gen` is only ever 0 or 1, so the flip changes one byte and a packet
// can never read a torn value.
struct holon_config {
    __u32 gen;
    __u32 sample_every;      /* 0: no sampling; N: one packet in N (per CPU) */
    __u32 observe;           /* 1: classify and count, never drop */
    __u32 direction;         /* value of the `direction` field: 0 inbound, 1 outbound, 0xFF absent */
    /* Bit 0: allow_v4 may hold prefixes; bit 1: allow_v6. An LPM lookup costs every packet 8 ns
     * even on an empty trie, and most filters have no allowlist. The loader sets a bit before
     * its first insert and clears it only once the trie is empty, so a set prefix is never
     * skipped. */
    __u32 allow;
    __u32 pad;
    struct holon_table_info table[2];
};
#define HOLON_DIRECTION_NONE 0xFFu
#define HOLON_ALLOW_V4 1u
#define HOLON_ALLOW_V6 2u

// ---- Counters -------------------------------------------------------------------------------
// Per-CPU global counters: packets = passed + dropped.
struct holon_stats {
    __u64 packets;
    __u64 bytes;
    __u64 passed;
    __u64 dropped;           /* by drop rules and rate limits */
    __u64 rate_limited;      /* of dropped, by rate limits */
    __u64 matched;           /* a rule won */
    __u64 counted;           /* a count rule won */
    __u64 allowlisted;       /* a rule won, but the source is allowlisted: passed */
    __u64 unparsed;          /* not IP or malformed: passed unclassified */
    __u64 observed_drops;    /* observe mode: would have dropped */
    __u64 sampled;
    __u64 ring_full;         /* samples lost because the ring was full */
};

// Per-CPU, per rule id (survives table replacement while id and action are unchanged).
struct holon_rule_counters {
    __u64 hits;
    __u64 drops;
};

// Token bucket of one rate-limit rule, shared by all CPUs: the lock makes refill-and-take one
// step. Arithmetic mirrors Sources/Rules/TokenBucket.swift exactly (nanotokens, 10^9 per token).
struct holon_bucket {
    struct bpf_spin_lock lock;
    __u32 started;
    __u64 pps;
    __u64 capacity;
    __u64 tokens;
    __u64 last;
};

// Allowlist keys (LPM tries): prefix length then the address in network byte order.
struct holon_lpm_v4 {
    __u32 prefixlen;
    __u8 addr[4];
};
struct holon_lpm_v6 {
    __u32 prefixlen;
    __u8 addr[16];
};

// ---- Connection authentication (syn-auth, flow-check) ------------------------------------------
// Rules' ConnectionAuth is the reference; these are its three sets. Keys carry both addresses
// whole (IPv4: hi 0, lo the address in host order) and both ports in host order.
struct holon_conn_key {
    __u64 src_hi, src_lo;
    __u64 dst_hi, dst_lo;
    __u16 src_port;          /* 0 in syn_ok: any source port of an authenticated client */
    __u16 dst_port;
    __u32 version;           /* 4 or 6: keeps ::a.b.c.d apart from a.b.c.d */
};
/* Retransmission window (ns): ConnectionAuth.minRetransmitGapNs / maxRetransmitGapNs. */
#define HOLON_SYN_MIN_GAP_NS 200000000ull
#define HOLON_SYN_MAX_GAP_NS 30000000000ull
/* Map sizes. syn_pending must hold every first SYN for one retransmission timeout (1 s) at the
 * flood's rate, or a real client's entry is evicted before its retransmission arrives: 2^18
 * covers 260 kpps (LRU maps are preallocated: ~25 MB of kernel memory). */
#define HOLON_SYN_PENDING_ENTRIES (1u << 18)
#define HOLON_SYN_OK_ENTRIES (1u << 16)
#define HOLON_FLOW_ENTRIES (1u << 18)

// ---- Samples ----------------------------------------------------------------------------------
// Verdict codes match Rules' Verdict.Decision (0…3), plus what only the data plane sees.
enum holon_verdict {
    HOLON_V_PASS = 0, HOLON_V_DROP = 1, HOLON_V_RATE_LIMITED = 2, HOLON_V_COUNTED = 3,
    HOLON_V_ALLOWLISTED = 4, HOLON_V_UNPARSED = 5
};
#define HOLON_SAMPLE_MATCHED 1   /* rule_id is valid */
#define HOLON_SAMPLE_OBSERVED 2  /* observe mode: a drop verdict was not enforced */

struct holon_sample {
    __u64 timestamp;         /* CLOCK_TAI ns (bpf_ktime_get_tai_ns); the loader converts to Unix */
    __u32 wire_len;
    __u32 cap_len;           /* bytes of data[] that hold the frame */
    __u32 rule_id;
    __u8 verdict;            /* enum holon_verdict */
    __u8 flags;
    __u16 pad;
    __u8 data[HOLON_SAMPLE_BYTES];
};

#endif
