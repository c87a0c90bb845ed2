// The filter stopped after parsing: the same program (holon_xdp.bpf.c) up to its parser and
// global counters, then XDP_DROP. `holon bench xdp` measures it beside the drop-all program, so
// what parsing costs and what classifying costs are told apart.
#define HOLON_PARSE_ONLY 1
#include "holon_xdp.bpf.c"
