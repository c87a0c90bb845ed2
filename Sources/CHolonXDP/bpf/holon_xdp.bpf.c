// Holon's XDP filter: parse → classify against the active rule table → drop / rate-limit /
// pass / count / syn-auth / flow-check, with an allowlist, an observe mode, counters and 1-in-N
// samples to a ring; and the tc egress program that tells flow-check which connections exist.
// Built by the BPFObject plugin (Plugins/BPFObject) into bytes the Dataplane module embeds;
// map layouts come from ../include/holon_xdp_shared.h, shared with the Swift loader.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "holon_xdp_shared.h"
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "classify.bpf.h"
#include "conn.bpf.h"
#include "egress.bpf.h"

char LICENSE[] SEC("license") = "GPL";

// 1 when the loader loads the program frags-aware (BPF_F_XDP_HAS_FRAGS) for an interface whose
// frames may span several buffers (an MTU above what one page holds: jumbo frames). Read-only
// data fixed at load: in every other load the verifier knows it is 0 and removes what it guards.
// The only read-only datum of the object (the loader checks the section's size).
const volatile __u32 holon_frags = 0;

// TokenBucket.take, line by line; the spin lock makes it one step across CPUs.
static __always_inline int bucket_take(struct holon_bucket *b, __u64 now)
{
    int ok = 0;
    bpf_spin_lock(&b->lock);
    if (!b->started) {
        b->started = 1;
        b->last = now;
        b->tokens = b->capacity;
    } else if (now > b->last) {
        __u64 elapsed = now - b->last;
        __u64 room = b->capacity - b->tokens;
        b->last = now;
        if (b->pps != 0) {
            if (elapsed > room / b->pps)
                b->tokens = b->capacity;
            else
                b->tokens += b->pps * elapsed;
        }
    }
    if (b->tokens >= 1000000000ull) {
        b->tokens -= 1000000000ull;
        ok = 1;
    }
    bpf_spin_unlock(&b->lock);
    return ok;
}

static __always_inline int allowlisted(struct holon_config *cfg, struct holon_scratch *s)
{
    if (!(cfg->allow & (s->version == 4 ? HOLON_ALLOW_V4 : HOLON_ALLOW_V6)))
        return 0;
    if (s->version == 4) {
        struct holon_lpm_v4 k = { .prefixlen = 32 };
        __u32 a = __builtin_bswap32((__u32)s->v[HOLON_F_SRC_V4]);
        __builtin_memcpy(k.addr, &a, 4);
        return bpf_map_lookup_elem(&allow_v4, &k) != 0;
    }
    struct holon_lpm_v6 k = { .prefixlen = 128 };
    __u64 hi = __builtin_bswap64(s->v[HOLON_F_SRC_V6_HI]), lo = __builtin_bswap64(s->v[HOLON_F_SRC_V6_LO]);
    __builtin_memcpy(k.addr, &hi, 8);
    __builtin_memcpy(k.addr + 8, &lo, 8);
    return bpf_map_lookup_elem(&allow_v6, &k) != 0;
}

static __always_inline struct holon_rule_counters *rule_counters(const struct classify_win *r)
{
    __u32 id = r->id, slot = r->ctr;
    if (slot) {
        // The empty asm keeps clang from merging this lookup with the one of rule_ctrs below
        // into a single call: the verifier then sees two maps at one call site and calls the
        // generic helper (two calls, ~10 ns a matched packet) where it inlines an array lookup.
        struct holon_rule_counters *c = bpf_map_lookup_elem(&slot_ctrs, &slot);
        asm volatile("" : "+r"(c));
        return c;
    }
    struct holon_rule_counters *c = bpf_map_lookup_elem(&rule_ctrs, &id);
    if (c)
        return c;
    struct holon_rule_counters zero = {};
    bpf_map_update_elem(&rule_ctrs, &id, &zero, BPF_NOEXIST);
    return bpf_map_lookup_elem(&rule_ctrs, &id);
}

static __always_inline void sample(struct xdp_md *ctx, struct holon_stats *st, __u64 now, __u32 len,
                                   __u8 verdict, __u8 flags, __u32 rule_id)
{
    struct holon_sample *r = bpf_ringbuf_reserve(&samples, sizeof(*r), 0);
    if (!r) {
        st->ring_full++;   /* never wait for the reader */
        return;
    }
    __u32 cap = len < HOLON_SAMPLE_BYTES ? len : HOLON_SAMPLE_BYTES;
    // The verifier rejects a possibly-zero length for bpf_xdp_load_bytes, even clamped.
    __u32 n = ((cap - 1) & (HOLON_SAMPLE_BYTES - 1)) + 1;
    if (cap == 0 || bpf_xdp_load_bytes(ctx, 0, r->data, n) != 0) {
        bpf_ringbuf_discard(r, 0);
        return;
    }
    r->timestamp = now;
    r->wire_len = len;
    r->cap_len = n;
    r->rule_id = rule_id;
    r->verdict = verdict;
    r->flags = flags;
    r->pad = 0;
    bpf_ringbuf_submit(r, 0);
    st->sampled++;
}

SEC("xdp")
int holon_xdp(struct xdp_md *ctx)
{
    __u32 zero = 0;
    struct holon_config *cfg = bpf_map_lookup_elem(&config, &zero);
    struct holon_stats *st = bpf_map_lookup_elem(&stats, &zero);
    struct holon_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    if (!cfg || !st || !s)
        return XDP_PASS;
    // The clock is read only where a verdict needs it (a rate limit, a sample): on this
    // machine class bpf_ktime_get_tai_ns costs as much as parsing the packet.
    __u64 now = 0;
    // The frame's length without a helper call (~6 ns here): loaded as it is compiled
    // (SEC("xdp"), not "xdp.frags"), the kernel never hands it a multi-buffer frame (drivers
    // refuse to attach it above a page's MTU, generic XDP linearizes first), and the frame is
    // all between data and data_end. Loaded frags-aware (holon_frags), for an interface of
    // jumbo frames, it asks bpf_xdp_get_buff_len; elsewhere the verifier drops that branch.
    // The empty asm makes the subtraction happen here, in 64 bits: left to clang, it kept the
    // pointers for later and spilled them as 32-bit values, which the verifier rejects.
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    __u64 frame = data_end - data;
    asm volatile("" : "+r"(frame));
    __u32 len = frame;
    if (holon_frags)
        len = bpf_xdp_get_buff_len(ctx);
    st->packets++;
    st->bytes += len;

    __u8 verdict = HOLON_V_PASS, flags = 0;
    __u32 rule_id = 0;
    int action = XDP_PASS;
    int parsed = parse(ctx, s, len, cfg->direction);
#ifdef HOLON_PARSE_ONLY
    st->dropped++;
    return parsed == 0 ? XDP_DROP : XDP_PASS;
#endif
    if (parsed != 0) {
        verdict = HOLON_V_UNPARSED;
        st->unparsed++;
    } else {
        struct classify_ctx c = { .xdp = ctx, .gen = cfg->gen & 1 };
        s->now = 0;
        __u32 nshapes = cfg->table[c.gen].nshapes;
        if (nshapes > HOLON_MAX_SHAPES)
            nshapes = HOLON_MAX_SHAPES;
        classify(&c, nshapes, s);
        // An allowlisted source passes whatever rule it meets, as if it met none: its trie is
        // looked up only once a rule matched (a packet of no rule passes either way). Looked
        // up first, every packet paid for it (~13 ns with three prefixes), a real user's too.
        if (c.found && allowlisted(cfg, s)) {
            verdict = HOLON_V_ALLOWLISTED;
            st->allowlisted++;
        } else if (c.found) {
            rule_id = c.rule.id;
            flags |= HOLON_SAMPLE_MATCHED;
            st->matched++;
            struct holon_rule_counters *rc = rule_counters(&c.rule);
            if (rc)
                rc->hits++;
            switch (c.rule.action) {
            case HOLON_A_DROP:
                verdict = HOLON_V_DROP;
                break;
            case HOLON_A_COUNT:
                verdict = HOLON_V_COUNTED;
                st->counted++;
                break;
            case HOLON_A_SYNAUTH:
                if (!holon_syn_admit(ctx))
                    verdict = HOLON_V_DROP;
                break;
            case HOLON_A_FLOWCHECK:
                if (!holon_flow_admit(ctx))
                    verdict = HOLON_V_DROP;
                break;
            case HOLON_A_RATE: {
                struct holon_bucket *b = bpf_map_lookup_elem(&buckets, &rule_id);
                // A missing bucket (never left by the loader) fails open.
                now = bpf_ktime_get_tai_ns();
                if (b && !bucket_take(b, now))
                    verdict = HOLON_V_RATE_LIMITED;
                break;
            }
            default:
                break;
            }
            if (rc && (verdict == HOLON_V_DROP || verdict == HOLON_V_RATE_LIMITED))
                rc->drops++;
        }
        if (verdict == HOLON_V_DROP || verdict == HOLON_V_RATE_LIMITED) {
            if (cfg->observe) {
                flags |= HOLON_SAMPLE_OBSERVED;
                st->observed_drops++;
            } else {
                action = XDP_DROP;
                if (verdict == HOLON_V_RATE_LIMITED)
                    st->rate_limited++;
            }
        }
    }
    if (action == XDP_DROP)
        st->dropped++;
    else
        st->passed++;

    __u32 every = cfg->sample_every;
    if (every && ++s->sample_ctr >= every) {
        s->sample_ctr = 0;
        if (!now)
            now = bpf_ktime_get_tai_ns();
        sample(ctx, st, now, len, verdict, flags, rule_id);
    }
    return action;
}
