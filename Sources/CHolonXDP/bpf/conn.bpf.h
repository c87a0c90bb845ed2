// syn-auth and flow-check: the XDP half (decisions on a parsed packet) and the tc egress half
// (connections the host has). Rules' ConnectionAuth.swift is the reference, line by line.
#pragma once

// The packet's 4-tuple from the parsed fields; `with_sport` 0 leaves the source port out.
static __always_inline void conn_key_of(struct holon_scratch *s, struct holon_conn_key *k, int with_sport)
{
    __builtin_memset(k, 0, sizeof(*k));
    k->version = s->version;
    if (s->version == 4) {
        k->src_lo = s->v[HOLON_F_SRC_V4];
        k->dst_lo = s->v[HOLON_F_DST_V4];
    } else {
        k->src_hi = s->v[HOLON_F_SRC_V6_HI];
        k->src_lo = s->v[HOLON_F_SRC_V6_LO];
        k->dst_hi = s->v[HOLON_F_DST_V6_HI];
        k->dst_lo = s->v[HOLON_F_DST_V6_LO];
    }
    k->src_port = with_sport ? (__u16)s->v[HOLON_F_SRC_PORT] : 0;
    k->dst_port = (__u16)s->v[HOLON_F_DST_PORT];
}

// ConnectionAuth.admitSYN: 1 passes. A global function, verified once on its own.
__attribute__((noinline)) int holon_syn_admit(struct xdp_md *ctx)
{
    __u32 zero = 0;
    struct holon_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    if (!s || !ctx)
        return 1;
    struct holon_conn_key src, tuple;
    conn_key_of(s, &src, 0);
    if (bpf_map_lookup_elem(&syn_ok, &src))
        return 1;
    conn_key_of(s, &tuple, 1);
    __u64 now = bpf_ktime_get_ns();
    __u64 *first = bpf_map_lookup_elem(&syn_pending, &tuple);
    if (!first) {
        bpf_map_update_elem(&syn_pending, &tuple, &now, BPF_ANY);
        return 0;
    }
    __u64 seen = *first;
    if (now < seen || now - seen > HOLON_SYN_MAX_GAP_NS) {
        bpf_map_update_elem(&syn_pending, &tuple, &now, BPF_ANY);
        return 0;
    }
    if (now - seen < HOLON_SYN_MIN_GAP_NS)
        return 0;
    bpf_map_delete_elem(&syn_pending, &tuple);
    bpf_map_update_elem(&syn_ok, &src, &now, BPF_ANY);
    return 1;
}

// ConnectionAuth.admitFlow: 1 passes.
__attribute__((noinline)) int holon_flow_admit(struct xdp_md *ctx)
{
    __u32 zero = 0;
    struct holon_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    if (!s || !ctx)
        return 1;
    struct holon_conn_key k;
    conn_key_of(s, &k, 1);
    return bpf_map_lookup_elem(&flows, &k) != 0;
}
