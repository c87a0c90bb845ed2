// Packet parsing into field slots, mirroring Sources/Packets/PacketParser.swift: same
// validation (a frame the Swift parser rejects is "unparsed" here), same derived fields.
// Differences, all on frames no sender makes: more than 8 VLAN tags, or headers beyond the
// first 16 KiB / outside the linear part of a multi-buffer frame, read as unparsed.
#pragma once

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define ETH_P_QINQ_LEGACY 0x9100
#define ETH_P_IPV4_ 0x0800
#define ETH_P_IPV6_ 0x86DD

// A pointer to `n` bytes at `off`, or NULL when they are not in the packet. The bound on
// `off` lets the verifier accept the variable offset.
static __always_inline __u8 *at(void *data, void *end, __u32 off, __u32 n)
{
    if (off > 0x3FFF)
        return 0;
    __u8 *p = (__u8 *)data + off;
    if ((void *)(p + n) > end)
        return 0;
    return p;
}

// Big-endian loads, one load and a byte swap each (assembled byte by byte they took four
// loads for an address). The packet may hold them at any alignment: x86 and arm64 load
// unaligned and the verifier allows it for packet pointers. Stack copies (`q` in
// parse_transport) are read only at offsets aligned for their width, as the verifier demands.
static __always_inline __u16 be16(const __u8 *p) { return __builtin_bswap16(*(const __u16 *)p); }
static __always_inline __u32 be32(const __u8 *p) { return __builtin_bswap32(*(const __u32 *)p); }
static __always_inline __u64 be64(const __u8 *p) { return __builtin_bswap64(*(const __u64 *)p); }

static __always_inline int is_vlan(__u16 et)
{
    return et == ETH_P_8021Q_ || et == ETH_P_8021AD_ || et == ETH_P_QINQ_LEGACY;
}

// IPv6Header.isExtension: ESP is not stepped over (what follows is encrypted).
static __always_inline int is_ext(__u8 p)
{
    return p == 0 || p == 43 || p == 44 || p == 60 || p == 51 || p == 135 || p == 139 || p == 140;
}

static __always_inline __u32 min_transport(__u8 proto)
{
    return proto == 6 ? 20 : (proto == 17 || proto == 1 || proto == 58) ? 8 : 0;
}

// IPAddress.fieldValue of an IPv6 address: a 64-bit fold with bit 40 set.
static __always_inline __u64 fold6(__u64 hi, __u64 lo)
{
    return ((hi * 0x9E3779B97F4A7C15ull) ^ lo) | (1ull << 40);
}

#define SET(s, f, x) do { (s)->v[f] = (x); (s)->present |= 1u << (f); } while (0)

/* TCP and UDP put their ports in the same first four bytes. */
static __always_inline void set_ports(struct holon_scratch *s, const __u8 *q)
{
    __u16 sp = be16(q), dp = be16(q + 2);
    SET(s, HOLON_F_SRC_PORT, sp);
    SET(s, HOLON_F_DST_PORT, dp);
    SET(s, HOLON_F_SRC_PORT_BAND, holon_port_band(sp));
    SET(s, HOLON_F_DST_PORT_BAND, holon_port_band(dp));
}

// Copies the `n` bytes at `off` into `q`: straight from the packet when they are in it, else
// (past the first 16 KiB) with bpf_xdp_load_bytes. The direct read is the common case and costs
// ~17 ns less per packet than the helper call; both read the same bytes.
// `n` is a constant, 8 (UDP, ICMP) or 20 (TCP). The direct copy goes a word at a time: as a
// memcpy from a pointer of unknown alignment, clang loads, shifts and ors byte by byte (UDP
// and ICMP packets took ~2 ns longer, TCP ones ~4).
static __always_inline int load_l4(struct xdp_md *ctx, __u32 off, __u8 *q, const __u32 n)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    __u8 *p = at(data, end, off, n);
    if (p) {
        *(__u64 *)q = *(const __u64 *)p;
        if (n == 20) {
            *(__u64 *)(q + 8) = *(const __u64 *)(p + 8);
            *(__u32 *)(q + 16) = *(const __u32 *)(p + 16);
        }
        return 0;
    }
    return bpf_xdp_load_bytes(ctx, off, q, n);
}

// PacketParser.transport: the header at l4, or none for non-first fragments, tiny first
// fragments and protocols without one. Returns -1 where the Swift parser throws.
// The header is copied out (load_l4) rather than read in place: an offset used in later
// packet-pointer arithmetic becomes "precise" to the verifier, and the many distinct offsets the
// IPv6 extension walk can produce would then never merge (the program would not verify).
static __always_inline int parse_transport(struct xdp_md *ctx, struct holon_scratch *s, __u32 len,
                                           __u32 l4, __u32 ip_end, __u8 proto, __u32 frag_off, __u32 mf)
{
    __u32 endb = ip_end < len ? ip_end : len;
    __u32 ip_payload = ip_end > l4 ? ip_end - l4 : 0;
    __u32 hl;
    s->payload_len = 0;      /* byte predicates need a transport header (Rules' PayloadMatch) */
    if (frag_off != 0 || (mf && ip_end - l4 < min_transport(proto))) {
        SET(s, HOLON_F_PAYLOAD_LEN, ip_payload);
        return 0;
    }
    if (l4 > endb)
        return -1;
    __u8 q[20] __attribute__((aligned(8)));
    if (proto == 17) {
        if (endb - l4 < 8 || load_l4(ctx, l4, q, 8) != 0)
            return -1;
        __u32 ulen = be16(q + 4);
        if (ulen < 8 || (!mf && ulen > ip_end - l4))   /* a first fragment's length spans the datagram */
            return -1;
        set_ports(s, q);
        hl = 8;
    } else if (proto == 6) {
        if (endb - l4 < 20 || load_l4(ctx, l4, q, 20) != 0)
            return -1;
        hl = (q[12] >> 4) * 4;
        if (hl < 20 || endb - l4 < hl)
            return -1;
        set_ports(s, q);
        SET(s, HOLON_F_TCP_FLAGS, q[13]);
        SET(s, HOLON_F_TCP_WINDOW, be16(q + 14));
        SET(s, HOLON_F_TCP_URGENT_PTR, be16(q + 18));
    } else if (proto == 1 || proto == 58) {
        if (endb - l4 < 8 || load_l4(ctx, l4, q, 8) != 0)
            return -1;
        SET(s, HOLON_F_ICMP_TYPE, q[0]);
        SET(s, HOLON_F_ICMP_CODE, q[1]);
        hl = 8;
    } else {
        SET(s, HOLON_F_PAYLOAD_LEN, ip_payload);
        return 0;
    }
    SET(s, HOLON_F_PAYLOAD_LEN, ip_payload > hl ? ip_payload - hl : 0);
    // The payload as far as the frame holds it (a capture-cut frame cannot be read further).
    s->payload_off = l4 + hl;
    s->payload_len = endb > l4 + hl ? endb - (l4 + hl) : 0;
    return 0;
}

// Where the network header leaves the transport header: what parse_transport needs.
struct l3_end {
    __u32 l4, ip_end, proto, frag_off, mf;
};

static __always_inline int ipv4_head(void *data, void *end, struct holon_scratch *s, __u32 len, __u32 off, struct l3_end *e)
{
    __u8 *p = at(data, end, off, 20);
    if (!p || (p[0] >> 4) != 4)
        return -1;
    __u32 avail = len - off;
    __u32 hl = (p[0] & 15) * 4;
    __u32 total = be16(p + 2);
    if (hl < 20 || avail < hl || total < hl || total > avail)
        return -1;
    __u16 ff = be16(p + 6);
    __u32 src = be32(p + 12), dst = be32(p + 16);
    __u8 proto = p[9];
    s->version = 4;
    SET(s, HOLON_F_PROTO, proto);
    SET(s, HOLON_F_SRC_IP, src);
    SET(s, HOLON_F_DST_IP, dst);
    SET(s, HOLON_F_SRC_V4, src);
    SET(s, HOLON_F_DST_V4, dst);
    SET(s, HOLON_F_TTL, p[8]);
    SET(s, HOLON_F_DF, (ff & 0x4000) ? 1 : 0);
    SET(s, HOLON_F_MF, (ff & 0x2000) ? 1 : 0);
    SET(s, HOLON_F_FRAG_OFFSET, ff & 0x1FFF);
    SET(s, HOLON_F_IP_ID, be16(p + 4));
    SET(s, HOLON_F_IP_LEN, total);
    SET(s, HOLON_F_DSCP, p[1] >> 2);
    SET(s, HOLON_F_ECN, p[1] & 3);
    SET(s, HOLON_F_SIZE_CLASS, holon_size_class(total));
    e->l4 = off + hl;
    e->ip_end = off + total;
    e->proto = proto;
    e->frag_off = ff & 0x1FFF;
    e->mf = (ff & 0x2000) ? 1 : 0;
    return 0;
}

// One extension header: bpf_loop callback, returns 1 to stop. The walk's state lives in the
// scratch map, not on the stack: the verifier does not track map contents, so every iteration
// starts from the same state and the callback verifies once (on the stack, each distinct offset
// made a new state and the program exceeded the verifier's budget).
static long ext_step(__u32 i, void *arg)
{
    struct xdp_md *ctx = *(struct xdp_md **)arg;
    __u32 zero = 0;
    struct holon_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    if (!s)
        return 1;
    struct holon_ext_walk *w = &s->walk;
    if (!is_ext(w->next))
        return 1;
    if (i == 16 || w->cur > w->endb || w->endb - w->cur < 8) {
        w->err = 1;
        return 1;
    }
    __u8 q[8] __attribute__((aligned(8)));
    if (bpf_xdp_load_bytes(ctx, w->cur, q, 8) != 0) {
        w->err = 1;
        return 1;
    }
    __u32 hlen;
    if (w->next == 44) {
        __u16 fo = be16(q + 2);
        hlen = 8;
        w->is_frag = 1;
        w->frag_off = fo >> 3;
        w->mf = fo & 1;
        w->ip_id = be32(q + 4);
    } else if (w->next == 51) {
        hlen = ((__u32)q[1] + 2) * 4;   /* AH counts 4-byte units minus 2 (RFC 4302) */
    } else {
        hlen = ((__u32)q[1] + 1) * 8;
    }
    if (w->endb - w->cur < hlen) {
        w->err = 1;
        return 1;
    }
    w->cur += hlen;
    w->next = q[0];
    return w->is_frag && w->frag_off != 0;   /* past a non-first fragment the upper header is absent */
}

// `walk` (a constant): 0 where the caller has seen that the first next header is not an
// extension; the walk is then left out of the code the verifier checks.
static __always_inline int ipv6_head(struct xdp_md *ctx, void *data, void *end, struct holon_scratch *s,
                                     __u32 len, __u32 off, struct l3_end *e, const int walk)
{
    __u8 *p = at(data, end, off, 40);
    if (!p || (p[0] >> 4) != 6)
        return -1;
    __u32 avail = len - off;
    __u32 plen = be16(p + 4);
    if (plen != 0 && 40 + plen > avail)
        return -1;
    __u32 ip_end = plen == 0 ? len : off + 40 + plen;   /* payload length 0: a jumbogram */
    __u32 endb = ip_end < len ? ip_end : len;
    __u8 tc = be16(p) >> 4;
    __u64 shi = be64(p + 8), slo = be64(p + 16), dhi = be64(p + 24), dlo = be64(p + 32);
    __u8 next = p[6];
    s->version = 6;
    SET(s, HOLON_F_SRC_IP, fold6(shi, slo));
    SET(s, HOLON_F_DST_IP, fold6(dhi, dlo));
    SET(s, HOLON_F_SRC_V6_HI, shi);
    SET(s, HOLON_F_SRC_V6_LO, slo);
    SET(s, HOLON_F_DST_V6_HI, dhi);
    SET(s, HOLON_F_DST_V6_LO, dlo);
    SET(s, HOLON_F_TTL, p[7]);
    SET(s, HOLON_F_DF, 0);
    SET(s, HOLON_F_DSCP, tc >> 2);
    SET(s, HOLON_F_ECN, tc & 3);
    SET(s, HOLON_F_IP_LEN, ip_end - off);
    SET(s, HOLON_F_SIZE_CLASS, holon_size_class(ip_end - off));

    __u32 cur = off + 40, frag_off = 0, mf = 0, ip_id = 0;
    // IPv6ExtensionChain.walk: at most 16 extension headers, one bpf_loop step each (a plain
    // loop multiplies verifier states by the branches of every header kind). Without any, the
    // walk would stop at its first step: it is not started (two calls fewer).
    if (walk && is_ext(next)) {
        struct holon_ext_walk *w = &s->walk;
        w->cur = cur;
        w->endb = endb;
        w->next = next;
        w->is_frag = 0;
        w->mf = 0;
        w->err = 0;
        w->frag_off = 0;
        w->ip_id = 0;
        bpf_loop(17, ext_step, &ctx, 0);
        if (w->err)
            return -1;
        next = w->next;
        cur = w->cur;
        frag_off = w->frag_off;
        mf = w->mf;
        ip_id = w->ip_id;
    }
    SET(s, HOLON_F_PROTO, next);
    SET(s, HOLON_F_MF, mf);
    SET(s, HOLON_F_FRAG_OFFSET, frag_off);
    SET(s, HOLON_F_IP_ID, ip_id);
    e->l4 = cur;
    e->ip_end = ip_end;
    e->proto = next;
    e->frag_off = frag_off;
    e->mf = mf;
    return 0;
}

// The network header (ethertype `et`) at `off`, then the transport header it leads to: one
// transport parse for both, which keeps the verifier's work down where this is inlined.
// `walk`: as ipv6_head's.
static __always_inline int parse_network(struct xdp_md *ctx, void *data, void *end, struct holon_scratch *s, __u32 len,
                                         __u16 et, __u32 off, const int walk)
{
    struct l3_end e;
    int r;
    if (et == ETH_P_IPV4_)
        r = ipv4_head(data, end, s, len, off, &e);
    else if (et == ETH_P_IPV6_)
        r = ipv6_head(ctx, data, end, s, len, off, &e, walk);
    else
        return -1;
    if (r)
        return -1;
    return parse_transport(ctx, s, len, e.l4, e.ip_end, e.proto, e.frag_off, e.mf);
}

// What every parse starts with: no field yet, but the direction the filter was attached for.
static __always_inline void parse_begin(struct holon_scratch *s, __u32 direction)
{
    s->present = 0;
    s->version = 0;
    if (direction != HOLON_DIRECTION_NONE)
        SET(s, HOLON_F_DIRECTION, direction);
}

// Fills the per-CPU scratch fields. 0 on success, -1 for what the Swift parser rejects (or
// non-IP). A global (non-inlined) function: the verifier checks it once, on its own, instead of
// once per path through everything that follows it.
__attribute__((noinline)) int holon_parse(struct xdp_md *ctx, __u32 len, __u32 direction)
{
    __u32 zero = 0;
    struct holon_scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    if (!s)
        return -1;
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    parse_begin(s, direction);
    __u8 *p = at(data, end, 0, 14);
    if (!p)
        return -1;
    __u16 et = be16(p + 12);
    __u32 off = 14;
    for (int i = 0; i < 8; i++) {
        if (!is_vlan(et))
            break;
        __u8 *t = at(data, end, off, 4);
        if (!t)
            return -1;
        et = be16(t + 2);
        off += 4;
    }
    return parse_network(ctx, data, end, s, len, et, off, 1);
}

// The parse, with the common frames (IPv4, and IPv6 without extension headers, straight after
// an untagged Ethernet header) parsed in the caller: the same steps holon_parse takes for them,
// without the call. A call and its return cost ~8 ns a packet on CPUs that mitigate
// return-stack attacks (AMD's "Safe RET"), a third of what parsing costs. The rest (VLAN tags,
// the extension walk, what is not IP) stays in the global function, which the verifier checks
// once on its own: inlined whole, the program took 110k instructions and 3 s to verify. Both
// network headers lead to one transport parse: with a copy of it behind each, 222k and 1.2 s.
static __always_inline int parse(struct xdp_md *ctx, struct holon_scratch *s, __u32 len, __u32 direction)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    __u8 *p = at(data, end, 0, 14);
    if (!p)
        return holon_parse(ctx, len, direction);
    __u16 et = be16(p + 12);
    __u8 *ip6 = at(data, end, 14, 40);
    if (et != ETH_P_IPV4_ && !(et == ETH_P_IPV6_ && ip6 && !is_ext(ip6[6])))
        return holon_parse(ctx, len, direction);
    parse_begin(s, direction);
    return parse_network(ctx, data, end, s, len, et, 14, 0);
}
