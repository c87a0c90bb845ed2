// The generator's XDP live-frames program. BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES runs it
// once per transmitted copy of a frame; it varies that copy (spoofed source, victim inside a
// block, ports, IP ID, TTL) as the Swift FrameCursor does for the socket engines, patches the
// checksums incrementally (RFC 1624), and returns XDP_TX so the kernel sends it.
//
// The kernel recycles frame pages without copying the original back, so a copy may arrive
// already varied: every change is computed from the bytes as they are now, which keeps the
// checksums right whatever the page held before.
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "holon_gen_shared.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, HG_MAX_VARIATIONS);
    __type(key, __u32);
    __type(value, struct hg_variation);
} variations SEC(".maps");

// The incrementing IP ID, one counter per CPU (each sender thread is pinned to one).
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} ip_ids SEC(".maps");

// Ones'-complement arithmetic is byte-order blind, so checksums are patched with the 16-bit words
// exactly as they sit in memory.
static __always_inline __u16 fold(__u32 s) {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (__u16)s;
}

static __always_inline __u16 update16(__u16 check, __u16 old, __u16 new) {
    return (__u16)~fold((__u32)(__u16)~check + (__u16)~old + new);
}

static __always_inline __u16 update32(__u16 check, __u32 old, __u32 new) {
    __u32 s = (__u16)~check;
    s += (__u16)~(old & 0xffff);
    s += (__u16)~(old >> 16);
    s += (new & 0xffff) + (new >> 16);
    return (__u16)~fold(s);
}

static __always_inline __u32 pick(__u32 lo, __u32 span) {
    return span ? lo + bpf_get_prandom_u32() % span : lo;
}

// A transport checksum after an address or port change; UDP's zero ("no checksum") stays zero
// and a computed zero goes out as 0xffff.
static __always_inline void patch_l4(__u16 *l4check, int udp, __u32 old, __u32 new, int wide) {
    if (!l4check) return;
    __u16 c = *l4check;
    if (udp && c == 0) return;
    c = wide ? update32(c, old, new) : update16(c, (__u16)old, (__u16)new);
    if (udp && c == 0) c = 0xffff;
    *l4check = c;
}

SEC("xdp")
int holon_gen(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct hg_frame_meta *meta = (void *)(long)ctx->data_meta;
    if ((void *)(meta + 1) > data) return XDP_TX;  // no metadata: send as built

    __u32 index = meta->variation;
    struct hg_variation *v = bpf_map_lookup_elem(&variations, &index);
    if (!v || !v->flags) return XDP_TX;
    __u32 flags = v->flags;

    __u32 l3 = meta->l3_offset;
    if (l3 > 64) return XDP_TX;
    __u8 *ip = data + l3;
    if ((void *)(ip + 20) > end) return XDP_TX;
    __u16 *ipcheck = (__u16 *)(ip + 10);

    __u16 *l4check = 0;
    __u32 ck = meta->l4_checksum_offset;
    if (ck != HG_NONE && ck <= 256) {
        __u16 *p = data + ck;
        if ((void *)(p + 1) <= end) l4check = p;
    }
    __u16 *ports = 0;
    __u32 l4 = meta->l4_offset;
    if (l4 != HG_NONE && l4 <= 256) {
        __u16 *p = data + l4;
        if ((void *)(p + 2) <= end) ports = p;
    }
    int udp = meta->udp;
    __u16 *addressCheck = meta->pseudo_header ? l4check : 0;

    if (flags & HG_VARY_SOURCE) {
        __u32 a = v->source_net | (bpf_get_prandom_u32() & v->source_host);
        if ((flags & HG_AVOID) && (a & v->avoid_mask) == v->avoid_net) a ^= 0x80000000;
        __u32 *field = (__u32 *)(ip + 12);
        __u32 old = *field, new = bpf_htonl(a);
        *field = new;
        *ipcheck = update32(*ipcheck, old, new);
        patch_l4(addressCheck, udp, old, new, 1);
    }
    if (flags & HG_VARY_DESTINATION) {
        __u32 a = v->destination_net | (bpf_get_prandom_u32() & v->destination_host);
        __u32 *field = (__u32 *)(ip + 16);
        __u32 old = *field, new = bpf_htonl(a);
        *field = new;
        *ipcheck = update32(*ipcheck, old, new);
        patch_l4(addressCheck, udp, old, new, 1);
    }
    if (ports && (flags & HG_VARY_SOURCE_PORT)) {
        __u16 old = ports[0], new = bpf_htons((__u16)pick(v->source_port_lo, v->source_port_span));
        ports[0] = new;
        patch_l4(l4check, udp, old, new, 0);
    }
    if (ports && (flags & HG_VARY_DESTINATION_PORT)) {
        __u16 old = ports[1], new = bpf_htons((__u16)pick(v->destination_port_lo, v->destination_port_span));
        ports[1] = new;
        patch_l4(l4check, udp, old, new, 0);
    }
    if (flags & (HG_IPID_RANDOM | HG_IPID_INCREMENT)) {
        __u16 id;
        if (flags & HG_IPID_RANDOM) {
            id = (__u16)bpf_get_prandom_u32();
        } else {
            __u32 zero = 0;
            __u32 *counter = bpf_map_lookup_elem(&ip_ids, &zero);
            if (!counter) return XDP_TX;
            id = (__u16)++*counter;
        }
        __u16 *field = (__u16 *)(ip + 4);
        __u16 old = *field, new = bpf_htons(id);
        *field = new;
        *ipcheck = update16(*ipcheck, old, new);
    }
    if (flags & HG_VARY_TTL) {
        // TTL shares a checksum word with the protocol byte.
        __u16 *word = (__u16 *)(ip + 8);
        __u16 old = *word;
        ip[8] = (__u8)pick(v->ttl_lo, v->ttl_span);
        *ipcheck = update16(*ipcheck, old, *word);
    }
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
