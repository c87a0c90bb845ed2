// A ceiling between drop-all and one-lookup that `holon bench xdp` measures beside the filter:
// the frame's IPv4 source read, then drop. Every filter reads the packet, and a drop-all
// program does not: in live-frames mode the frame's bytes may not be in the CPU's cache, and
// what reading them costs is a part of every filter's price that no classifier can take away.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int holon_read_drop(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 34 > end || *(__u16 *)(data + 12) != __builtin_bswap16(0x0800))
        return XDP_PASS;
    // The source decides, so the read cannot be left out: 0.0.0.0 passes, any other drops.
    return *(volatile __u32 *)(data + 26) ? XDP_DROP : XDP_PASS;
}
