// Tuple-space search over the active rule table: one hash lookup per shape, shapes visited in
// order of their best rule, stopping as soon as no remaining shape can win. Same semantics as
// Sources/Rules/RuleTable.swift: the lowest rank (highest priority, then lowest id) matching
// every predicate wins; a predicate on a field the packet lacks is false.
#pragma once

// What the program needs of the best rule (copied whole, the rule took 5 loads and stores more).
struct classify_win {
    __u32 id;
    __u16 ctr;               /* holon_rule.ctr */
    __u8 action;
};

static __always_inline void classify_won(struct classify_win *w, const struct holon_rule *r)
{
    w->id = r->id;
    w->ctr = r->ctr;
    w->action = r->action;
}

struct classify_ctx {
    struct xdp_md *xdp;      /* for byte checks, which read the packet itself */
    void *shapes;            /* the active generation's shapes and key buckets, looked up */
    void *buckets;           /* once a packet; buckets may be NULL (see classify) */
    __u32 gen;
    __u32 found;             /* 1 once a rule matched: `best` and `rule` are valid */
    __u64 best;              /* rank of the best rule so far */
    struct classify_win rule;
};

// Payload windows, read from the packet only when a shape or a rule's checks need one (no
// per-packet copy: tables without byte predicates never pay for them). A global function: the
// verifier checks it once on its own instead of inside every path of the chain and check loops
// that call it (inlined, those paths multiplied past the verifier's limit).
// `*out` = the 8 bytes at `at` (fewer when the payload ends sooner: exactly `len`, the bytes the
// predicate needs, and zeros after); 0 when the payload does not hold `len` bytes there.
__attribute__((noinline)) int holon_payload_window(struct xdp_md *xdp, __u32 at, __u32 avail, __u32 len, __u64 *out)
{
    if (!out)
        return 0;
    *out = 0;
    if (len == 0 || len > 8 || avail < len)
        return 0;
    __u64 x = 0;
    // Where the 8 bytes lie in the linear part of the frame (the common case), one load: 40 ns
    // less per byte rule than the helper, which stays for the rest (fragments of a multi-buffer
    // frame, the last bytes of a payload). The same bytes either way. The mask keeps the
    // pointer's range small enough for the verifier to accept the bounds check.
    if (avail >= 8 && at <= 0x3FFF) {
        void *data = (void *)(long)xdp->data, *end = (void *)(long)xdp->data_end;
        void *p = data + (at & 0x3FFF);
        if (p + 8 <= end) {
            *out = *(__u64 *)p;   /* x86 and arm64 load unaligned; the verifier allows it */
            return 1;
        }
    }
    __u32 n = avail >= 8 ? 8 : len;
    // 1…8 in a form the verifier can see (it rejects a possibly-zero length, even clamped); the
    // empty asm keeps clang from proving the clamp redundant and dropping it.
    asm volatile("" : "+r"(n));
    n = ((n - 1) & 7) + 1;
    if (bpf_xdp_load_bytes(xdp, at, &x, n) != 0)
        return 0;
    *out = x;
    return 1;
}

static __always_inline int payload_window(struct xdp_md *xdp, struct holon_scratch *s, __u32 off, __u32 len, __u64 *out)
{
    if (off > HOLON_PAYLOAD_REACH - 8 || off >= s->payload_len)
        return 0;
    return holon_payload_window(xdp, s->payload_off + off, s->payload_len - off, len, out);
}

// A check's window compared inside one global function too: a compare on a value a global
// function wrote to the stack made the verifier's paths multiply again.
static __always_inline int holon_bytes_pass(struct xdp_md *xdp, __u32 at, __u32 avail, const struct holon_check *c)
{
    __u64 x;
    if (!c || !holon_payload_window(xdp, at, avail, c->len, &x))
        return 0;
    return (x & c->a) == c->b;
}

static __always_inline int bytes_pass(struct xdp_md *xdp, struct holon_scratch *s, const struct holon_check *c)
{
    __u32 off = c->offset;
    if (off > HOLON_PAYLOAD_REACH - 8 || off >= s->payload_len)
        return 0;
    return holon_bytes_pass(xdp, s->payload_off + off, s->payload_len - off, c);
}

// One check: a byte window, a range or a mask on a field the packet has.
static __always_inline int check_pass(struct xdp_md *xdp, struct holon_scratch *s, const struct holon_check *c)
{
    if (c->kind == HOLON_C_BYTES)
        return bytes_pass(xdp, s, c);
    __u32 f = c->field & (HOLON_F_SLOTS - 1);
    if (!(s->present & (1u << f)))
        return 0;
    __u64 x = s->v[f];
    if (c->kind == HOLON_C_RANGE)
        return x >= c->a && x <= c->b;
    return (x & c->a) == c->b;
}

// A rule's checks, all of which must pass. A global function as well: verified once on its own.
// Inlined in the chain walk, each chain step times each check step made its own verifier states,
// and on Linux 6.18 the program no longer fit the verifier's 1M-instruction budget.
__attribute__((noinline)) int holon_checks_pass(struct xdp_md *xdp, __u32 gen, __u32 start, __u32 n)
{
    __u32 zero = 0;
    struct holon_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    void *checks = bpf_map_lookup_elem(&checks_out, &gen);
    if (!s || !checks)
        return 0;
    for (__u32 k = 0; k < HOLON_MAX_CHECKS; k++) {
        if (k >= n)
            break;
        __u32 idx = start + k;
        struct holon_check *c = bpf_map_lookup_elem(checks, &idx);
        if (!c || !check_pass(xdp, s, c))
            return 0;
    }
    return 1;
}

// The chain of rules behind one key, from index `idx`, in rank order: 1 when a rule beats
// `best` (or any rule, while nothing was `found`) and matches, copied to the scratch's `hit`.
// A global function: verified once with whatever it is given. Inlined, the verifier walked
// the 32 steps once per state of the caller, 301k instructions and 1.6 s of kernel time for
// every load of the program (every attach, every test) on Linux 6.18.
__attribute__((noinline)) int holon_walk_chain(struct xdp_md *xdp, __u32 gen, __u32 idx, __u32 found, __u64 best)
{
    __u32 zero = 0;
    struct holon_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    void *rules = bpf_map_lookup_elem(&rules_out, &gen);
    if (!s || !rules)
        return 0;
    for (int j = 0; j < HOLON_MAX_CHAIN; j++) {
        struct holon_rule *r = bpf_map_lookup_elem(rules, &idx);   /* also ends the chain at HOLON_NO_SLOT */
        if (!r || (found && r->rank > best))
            return 0;
        if (r->expires_ns) {
            if (!s->now)
                s->now = bpf_ktime_get_boot_ns();
            if (s->now >= r->expires_ns) {   /* expired: matches nothing, the chain goes on */
                idx = r->next;
                continue;
            }
        }
        if (r->nchecks == 0 || holon_checks_pass(xdp, gen, r->check_start, r->nchecks)) {
            s->hit = *r;
            return 1;
        }
        idx = r->next;
    }
    return 0;
}

// The packet's values of the shape's fields, masked, into `k` (its first `limit` values, zero
// past the shape's own). 0 when the packet lacks one of the fields: no rule of the shape matches.
static __always_inline int key_values(struct holon_scratch *s, const struct holon_shape *sh, struct holon_key *k, const int limit)
{
    __u32 n = sh->nelems;
    for (int e = 0; e < limit; e++) {
        k->value[e] = 0;
        if (e >= n)
            continue;
        __u32 f = sh->field[e] & (HOLON_F_SLOTS - 1);
        if (!(s->present & (1u << f)))
            return 0;
        k->value[e] = s->v[f] & sh->mask[e];
    }
    return 1;
}

// A rule's checks. One check — the field a narrowed rule left out of its key, a rule's one
// range, the last window of a byte rule — is made here; more go through holon_checks_pass,
// whose call (~10 ns with this CPU's return thunk) would cost a narrowed rule's packet more
// than its check does.
static __always_inline int checks_ok(struct xdp_md *xdp, __u32 gen, const struct holon_rule *r, struct holon_scratch *s)
{
    __u32 n = r->nchecks;
    if (n == 0)
        return 1;
    if (n == 1) {
        void *checks = bpf_map_lookup_elem(&checks_out, &gen);
        if (!checks)
            return 0;
        __u32 idx = r->check_start;
        struct holon_check *k = bpf_map_lookup_elem(checks, &idx);
        // Kept apart from the other lookups of classify_one (see rule_counters).
        asm volatile("" : "+r"(k));
        return k && check_pass(xdp, s, k);
    }
    return holon_checks_pass(xdp, gen, r->check_start, n);
}

// Looks up shape `i`. Returns 1 to stop: no later shape can win.
// Ranks compare strictly (`>`): two rules never share a rank, so a rank equal to `best` is the
// best rule itself, and the rank that is all ones (priority INT32_MIN, id UINT32_MAX) can
// still win while nothing has matched (`found` says whether `best` means anything).
// `s`: the packet's fields (the per-CPU scratch), which the caller has at hand.
static __always_inline long classify_one(__u32 i, struct classify_ctx *c, struct holon_scratch *s)
{
    __u32 gen = c->gen;
    struct holon_shape *sh = bpf_map_lookup_elem(c->shapes, &i);
    if (!sh || (c->found && sh->min_rank > c->best))
        return 1;
    // Every parsed packet has a protocol (holon_parse sets it for IPv4 and IPv6 alike).
    if (sh->proto_skip & holon_proto_bit(s->v[HOLON_F_PROTO]))
        return 0;

    if (sh->plen) {
        __u64 w;
        if (!payload_window(c->xdp, s, sh->poff, sh->plen, &w))
            return 0;        /* the payload is too short for this shape's bytes */
        s->v[HOLON_F_PAYLOAD_KEY] = w;
        s->present |= 1u << HOLON_F_PAYLOAD_KEY;
    }
    // The key: a short one (its first HOLON_SHORT_KEY_ELEMS values, all a short map or a
    // bucket reads) unless the shape's keys are wide; the rest of a short key stays unwritten.
    struct holon_key k;
    k.shape = sh->id;
    k.pad = 0;
    if (sh->key_class != HOLON_KEYS_WIDE) {
        if (!key_values(s, sh, &k, HOLON_SHORT_KEY_ELEMS))
            return 0;
    } else {
        for (int e = HOLON_SHORT_KEY_ELEMS; e < HOLON_MAX_KEY_ELEMS; e++)
            k.value[e] = 0;
        if (!key_values(s, sh, &k, HOLON_MAX_KEY_ELEMS))
            return 0;
    }
    // The chain's first rule, stored with its key: most chains are one rule, which wins
    // outright when it matches (it is the chain's best). Only when it does not is the rest
    // walked, in the rules array. A short map reads the first bytes of `k` (holon_short_key).
    struct holon_rule *r = 0;
    if (sh->key_class != HOLON_KEYS_WIDE) {
        int spilled = 1;
        if (sh->key_class == HOLON_KEYS_BUCKETED) {
            void *buckets = c->buckets;
            if (!buckets)
                return 1;
            __u32 b = holon_bucket_of((const struct holon_short_key *)&k);
            struct holon_key_bucket *kb = bpf_map_lookup_elem(buckets, &b);
            if (!kb)
                return 1;
            for (int w = 0; w < HOLON_BUCKET_WAYS; w++) {
                struct holon_way *way = &kb->way[w];
                if ((kb->used & (1u << w)) && way->key.shape == k.shape && way->key.value[0] == k.value[0] &&
                    way->key.value[1] == k.value[1] && way->key.value[2] == k.value[2]) {
                    r = &way->rule;
                    break;
                }
            }
            spilled = !r && kb->spilled;
        }
        if (spilled) {
            void *heads = bpf_map_lookup_elem(&short_heads_out, &gen);
            if (!heads)
                return 1;
            r = bpf_map_lookup_elem(heads, &k);
            // Two call sites, kept apart: merged into one (clang would), the verifier sees two
            // maps there and calls the generic helper instead of the hash's own lookup.
            asm volatile("" : "+r"(r));
        }
    } else {
        void *heads = bpf_map_lookup_elem(&heads_out, &gen);
        if (!heads)
            return 1;
        r = bpf_map_lookup_elem(heads, &k);
    }
    if (!r)
        return 0;            /* the common miss */
    if (c->found && r->rank > c->best)
        return 0;
    int live = 1;
    if (r->expires_ns) {
        if (!s->now)
            s->now = bpf_ktime_get_boot_ns();
        live = s->now < r->expires_ns;   /* expired: matches nothing, the chain goes on */
    }
    if (live && checks_ok(c->xdp, gen, r, s)) {
        c->found = 1;
        c->best = r->rank;
        classify_won(&c->rule, r);
        return 0;
    }
    __u32 idx = r->next;
    if (idx == HOLON_NO_SLOT)
        return 0;
    if (holon_walk_chain(c->xdp, gen, idx, c->found, c->best)) {
        c->found = 1;
        c->best = s->hit.rank;
        classify_won(&c->rule, &s->hit);
    }
    return 0;
}

// Shapes classified inline before the bpf_loop takes over. A live table during an attack has
// a few shapes (the detector's rules of each vector, both families, an operator's own) and
// every packet that matches none (a real user's) walks them all: through the callback each
// costs a call (~10 ns with this CPU's return thunk), inline a shape of another protocol (or
// whose fields the packet lacks) costs a few instructions. Written out one by one, not as an
// unrolled loop: with 4 inline the verifier walked 81k instructions against 143k for the loop.
// Each further one adds ~7k and ~12 ms to every load; 6 (93k, 0.15 s) cover the tables of
// a multi-vector attack in both families.
#define HOLON_INLINE_SHAPES 6

// bpf_loop callback for the shapes after the inline ones.
static long classify_next_shape(__u32 i, void *arg)
{
    __u32 zero = 0;
    struct holon_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    if (!s)
        return 1;
    return classify_one(i + HOLON_INLINE_SHAPES, arg, s);
}

// Classifies the parsed packet against the active table's `nshapes` shapes into `c`; one
// line per inline shape (HOLON_INLINE_SHAPES).
static __always_inline void classify(struct classify_ctx *c, __u32 nshapes, struct holon_scratch *s)
{
    if (nshapes == 0)
        return;
    // Once for all shapes, not once per shape (~3 ns on a walk of 5). A generation without
    // key buckets (an earlier version's table, until a takeover rewrites it) has no bucketed
    // shape: its shapes are still classified, and a bucketed one stops the walk.
    __u32 gen = c->gen;
    c->shapes = bpf_map_lookup_elem(&shapes_out, &gen);
    if (!c->shapes)
        return;
    c->buckets = bpf_map_lookup_elem(&key_buckets_out, &gen);
    if (classify_one(0, c, s) != 0 || nshapes == 1)
        return;
    if (classify_one(1, c, s) != 0 || nshapes == 2)
        return;
    if (classify_one(2, c, s) != 0 || nshapes == 3)
        return;
    if (classify_one(3, c, s) != 0 || nshapes == 4)
        return;
    if (classify_one(4, c, s) != 0 || nshapes == 5)
        return;
    if (classify_one(5, c, s) != 0 || nshapes == 6)
        return;
    bpf_loop(nshapes - HOLON_INLINE_SHAPES, classify_next_shape, c, 0);
}
