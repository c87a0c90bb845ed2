// The ceiling `holon bench xdp` measures the filter against: a program that drops every frame
// and does nothing else, so `xdp.drop_pps / xdp.drop_all_pps` is what classifying costs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int holon_drop_all(struct xdp_md *ctx)
{
    return XDP_DROP;
}
