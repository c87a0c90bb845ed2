// libbpf from Debian's libbpf-dev: the BPF loader Holon uses (never raw bpf(2) syscalls).
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
