// The egress half of flow-check: a tc program on the protected interface's egress that records
// each TCP connection the host sends on (reversed, as its packets arrive) in `flows`, so the
// XDP half can tell an ACK of a real connection from a forged one. ConnectionAuth.observeEgress
// is the reference. Header-only parse (Ethernet, one VLAN tag, IPv4 or IPv6 without extension
// headers, unfragmented TCP): what a host's own stack sends on its connections.
#pragma once

#define HOLON_TC_ACT_OK 0

SEC("tc")
int holon_egress(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    __u8 *p = at(data, end, 0, 14);
    if (!p)
        return HOLON_TC_ACT_OK;
    __u16 et = be16(p + 12);
    __u32 off = 14;
    if (is_vlan(et)) {
        __u8 *t = at(data, end, off, 4);
        if (!t)
            return HOLON_TC_ACT_OK;
        et = be16(t + 2);
        off += 4;
    }
    struct holon_conn_key k;
    __builtin_memset(&k, 0, sizeof(k));
    __u32 l4;
    if (et == ETH_P_IPV4_) {
        __u8 *ip = at(data, end, off, 20);
        if (!ip || ip[9] != 6 || (be16(ip + 6) & 0x3FFF) != 0)   /* TCP, not a fragment */
            return HOLON_TC_ACT_OK;
        k.version = 4;
        k.src_lo = be32(ip + 16);   /* reversed: the host's peer is the arriving source */
        k.dst_lo = be32(ip + 12);
        l4 = off + (ip[0] & 15) * 4;
    } else if (et == ETH_P_IPV6_) {
        __u8 *ip = at(data, end, off, 40);
        if (!ip || ip[6] != 6)
            return HOLON_TC_ACT_OK;
        k.version = 6;
        k.src_hi = be64(ip + 24);
        k.src_lo = be64(ip + 32);
        k.dst_hi = be64(ip + 8);
        k.dst_lo = be64(ip + 16);
        l4 = off + 40;
    } else {
        return HOLON_TC_ACT_OK;
    }
    __u8 *tcp = at(data, end, l4, 14);
    if (!tcp)
        return HOLON_TC_ACT_OK;
    k.src_port = be16(tcp + 2);
    k.dst_port = be16(tcp);
    if (tcp[13] & 0x04) {   /* the host reset it: the connection is gone */
        bpf_map_delete_elem(&flows, &k);
        return HOLON_TC_ACT_OK;
    }
    // A lookup refreshes an LRU entry; writing only new connections keeps the common case
    // (every packet of a long transfer) to one read.
    if (!bpf_map_lookup_elem(&flows, &k)) {
        __u64 now = bpf_ktime_get_ns();
        bpf_map_update_elem(&flows, &k, &now, BPF_ANY);
    }
    return HOLON_TC_ACT_OK;
}
