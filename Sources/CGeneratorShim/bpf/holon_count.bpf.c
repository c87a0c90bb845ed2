// The far side of generator tests and benchmarks: count every packet arriving on an interface,
// then drop it or let it on, at XDP or at tc ingress. One program per hook and verdict, so the
// loader picks by name and nothing is patched before load.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

static __always_inline void count(void) {
    __u32 zero = 0;
    __u64 *c = bpf_map_lookup_elem(&counts, &zero);
    if (c) (*c)++;
}

SEC("xdp") int count_xdp_drop(struct xdp_md *ctx) { count(); return XDP_DROP; }
SEC("xdp") int count_xdp_pass(struct xdp_md *ctx) { count(); return XDP_PASS; }
SEC("tc") int count_tc_drop(struct __sk_buff *skb) { count(); return 2; /* TC_ACT_SHOT */ }
SEC("tc") int count_tc_pass(struct __sk_buff *skb) { count(); return 0; /* TC_ACT_OK */ }

char LICENSE[] SEC("license") = "GPL";
