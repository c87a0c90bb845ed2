// What the generator's XDP program (bpf/holon_gen.bpf.c) and its Swift loader share: the
// metadata in front of every live frame and the per-packet variations it applies. One copy, so
// the two sides cannot disagree on a layout.
#ifndef HOLON_GEN_SHARED_H
#define HOLON_GEN_SHARED_H

#include <linux/types.h>

/// Most variations one run can use (a scenario has one per attack phase, plus "none").
#define HG_MAX_VARIATIONS 1024
/// An offset that is not there (no transport header, no checksum).
#define HG_NONE 0xffff

/// Per-packet changes (hg_variation.flags).
enum {
    HG_VARY_SOURCE = 1 << 0,       // source = source_net | random & source_host
    HG_AVOID = 1 << 1,             // ... and flipped out of avoid_net/avoid_mask (top bit)
    HG_VARY_DESTINATION = 1 << 2,  // destination = destination_net | random & destination_host
    HG_VARY_SOURCE_PORT = 1 << 3,  // lo + random % span
    HG_VARY_DESTINATION_PORT = 1 << 4,
    HG_IPID_RANDOM = 1 << 5,
    HG_IPID_INCREMENT = 1 << 6,
    HG_VARY_TTL = 1 << 7,
};

/// One FrameVariation, addresses in host byte order. A span is hi - lo + 1 (up to 65,536).
struct hg_variation {
    __u32 flags;
    __u32 source_net, source_host;
    __u32 avoid_net, avoid_mask;
    __u32 destination_net, destination_host;
    __u32 source_port_lo, source_port_span;
    __u32 destination_port_lo, destination_port_span;
    __u32 ttl_lo, ttl_span;
};

/// The XDP metadata (ctx->data_meta) in front of a live frame: which variation, and where the
/// fields sit (the frame's PacketLayout). 12 bytes: metadata must be a multiple of 4, ≤ 32.
struct hg_frame_meta {
    __u32 variation;
    __u16 l3_offset;
    __u16 l4_offset;           // HG_NONE: no transport header (a later fragment)
    __u16 l4_checksum_offset;  // HG_NONE: no transport checksum
    __u8 pseudo_header;        // the transport checksum covers the addresses (TCP, UDP)
    __u8 udp;                  // a zero checksum means "none" and stays zero
};

#endif
