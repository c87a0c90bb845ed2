// Maps of the XDP program. The loader pins them under /sys/fs/bpf/holon/ (same names), so
// rules and counters outlive the process that installed them.
#pragma once

// The IPv6 extension-header walk in progress (see ext_step in parse.bpf.h).
struct holon_ext_walk {
    __u32 cur, endb, frag_off, ip_id;
    __u8 next, is_frag, mf, err;
};

// Per-packet working memory: the parsed fields. A map value rather than the stack so the
// classifier callbacks can index fields by number.
struct holon_scratch {
    __u64 v[HOLON_F_SLOTS];
    __u32 present;           /* bit f: the packet has field f */
    __u32 sample_ctr;
    __u32 version;           /* 4 or 6 */
    __u32 payload_len;       /* bytes of transport payload (0 without a TCP/UDP/ICMP header) */
    __u32 payload_off;       /* where it starts in the frame */
    __u32 pad;
    struct holon_ext_walk walk;
    struct holon_rule hit;   /* the rule holon_walk_chain matched */
    __u64 now;               /* boot-time ns, read once a rule with a TTL is met; 0 until then */
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct holon_config);
} config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct holon_stats);
} stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct holon_scratch);
} scratch SEC(".maps");

// Counters of rules without a slot, created lazily by the program on a rule's first hit; the
// loader deletes ids that leave the table or change action.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, HOLON_MAX_RULES);
    __type(key, __u32);
    __type(value, struct holon_rule_counters);
} rule_ctrs SEC(".maps");

// Counters of rules that have a slot (holon_rule.ctr), by slot; and which id holds which slot,
// read and written by the loader only (the program takes the slot from the rule).
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, HOLON_COUNTER_SLOTS);
    __type(key, __u32);
    __type(value, struct holon_rule_counters);
} slot_ctrs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, HOLON_COUNTER_SLOTS);
    __type(key, __u32);      /* rule id */
    __type(value, __u32);    /* slot, 1…HOLON_COUNTER_SLOTS - 1 */
} rule_slots SEC(".maps");

// One bucket per rate-limit rule id, shared across CPUs (spin lock inside).
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, HOLON_MAX_RULES);
    __type(key, __u32);
    __type(value, struct holon_bucket);
} buckets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, 65536);
    __type(key, struct holon_lpm_v4);
    __type(value, __u8);
} allow_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, 65536);
    __type(key, struct holon_lpm_v6);
    __type(value, __u8);
} allow_v6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, HOLON_RING_BYTES);
} samples SEC(".maps");

// The rule table: two generations (outer index = config.gen), each a set of inner maps the
// loader builds whole and then swaps in. The templates below only fix the inner maps' types;
// the loader creates the real ones sized to the table. Sizes, not BTF types: the structs are
// only used through pointers, so clang would emit them as bare forward declarations.
struct shapes_inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, HOLON_MAX_SHAPES);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(struct holon_shape));
};
// A key's value is the first rule of its chain itself (its `next` leads on into the rules
// array): most chains are one rule, and a packet then needs no lookup in the rules array, a
// call the verifier cannot inline (its size varies with the table: BPF_F_INNER_MAP).
struct heads_inner {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1);
    __uint(key_size, sizeof(struct holon_key));
    __uint(value_size, sizeof(struct holon_rule));
};
struct short_heads_inner {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1);
    __uint(key_size, sizeof(struct holon_short_key));
    __uint(value_size, sizeof(struct holon_rule));
};
// Not BPF_F_INNER_MAP: every generation's buckets have the template's size, which is what lets
// the verifier inline their lookup.
struct key_buckets_inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, HOLON_KEY_BUCKETS);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(struct holon_key_bucket));
};
struct rules_inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_INNER_MAP);
    __uint(max_entries, 1);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(struct holon_rule));
};
struct checks_inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_INNER_MAP);
    __uint(max_entries, 1);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(struct holon_check));
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct shapes_inner);
} shapes_out SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct heads_inner);
} heads_out SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct short_heads_inner);
} short_heads_out SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct key_buckets_inner);
} key_buckets_out SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct rules_inner);
} rules_out SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct checks_inner);
} checks_out SEC(".maps");

// Connection authentication (conn.bpf.h). LRU hashes: a flood's entries push out the oldest,
// never fail an insert. syn_ok and flows are separate from syn_pending so the flood's first
// SYNs (which fill syn_pending) cannot evict the clients that authenticated or their connections.
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, HOLON_SYN_PENDING_ENTRIES);
    __type(key, struct holon_conn_key);
    __type(value, __u64);    /* when the first SYN arrived, bpf_ktime_get_ns */
} syn_pending SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, HOLON_SYN_OK_ENTRIES);
    __type(key, struct holon_conn_key);
    __type(value, __u64);    /* when it authenticated */
} syn_ok SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, HOLON_FLOW_ENTRIES);
    __type(key, struct holon_conn_key);
    __type(value, __u64);    /* when the host last sent on it */
} flows SEC(".maps");
