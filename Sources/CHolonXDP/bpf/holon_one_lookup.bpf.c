// The least a filter of many source addresses can do, which `holon bench xdp` measures beside
// the filter: one hash lookup of the IPv4 source among the sources the bench blocks, then drop
// or pass. No validation past the bounds, no counters, no rule language. What one lookup in a
// kernel hash map costs a packet on this machine bounds what any hash-based classifier can reach.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1 << 17);
    __type(key, __u32);      /* IPv4 source, network byte order */
    __type(value, __u8);
} blocked_sources SEC(".maps");

SEC("xdp")
int holon_one_lookup(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 34 > end || *(__u16 *)(data + 12) != __builtin_bswap16(0x0800))
        return XDP_PASS;
    __u32 source = *(__u32 *)(data + 26);
    return bpf_map_lookup_elem(&blocked_sources, &source) ? XDP_DROP : XDP_PASS;
}
