// The Generator's window on Linux APIs Glibc's Swift overlay does not expose: AF_PACKET
// (sockaddr_ll, PACKET_QDISC_BYPASS, PACKET_TX_RING), sendmmsg, CPU affinity, a SIGINT
// flag. (Its bpf/ folder holds the generator's BPF programs, built by the BPFObject plugin.)
#ifndef HOLON_GENERATOR_SHIM_H
#define HOLON_GENERATOR_SHIM_H

#include <stdint.h>
#include <stddef.h>

#include "holon_gen_shared.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Interface facts, looked up in the calling thread's network namespace.
typedef struct {
    int ifindex;
    int mtu;
    int up;          // IFF_UP
    uint8_t mac[6];
} hg_ifinfo;

/// 0 on success, -errno on failure (-ENODEV: no such interface).
int hg_interface_info(const char *name, hg_ifinfo *out);

/// An AF_PACKET/SOCK_RAW socket bound to `ifindex` that only transmits (protocol 0: it receives
/// nothing). `qdisc_bypass` sets PACKET_QDISC_BYPASS; `sndbuf` > 0 sets SO_SNDBUF(FORCE).
/// Returns the fd or -errno.
int hg_packet_socket(int ifindex, int qdisc_bypass, int sndbuf);

/// sendmmsg of `count` (≤ 1024) frames. Returns frames sent (≥ 0) or -errno.
int hg_sendmmsg(int fd, void *const *frames, const uint32_t *lengths, int count);

/// TPACKET_V2 TX ring: sets the version, the ring (frame_size × frame_count, one block per
/// `frames_per_block`) and maps it. Returns 0 or -errno.
int hg_txring_setup(int fd, uint32_t frame_size, uint32_t frame_count, void **ring, size_t *ring_len);
/// Status of a slot (the tpacket2_hdr at `slot`): 1 when the kernel still owns it.
int hg_txring_busy(const void *slot);
/// Where the frame bytes of a slot go.
void *hg_txring_data(void *slot);
/// Hands a filled slot of `len` bytes to the kernel.
void hg_txring_commit(void *slot, uint32_t len);
/// Tells the kernel to transmit the committed slots; returns bytes queued or -errno.
long hg_txring_kick(int fd, int wait);
/// The TX ring's data offset inside a slot.
uint32_t hg_txring_data_offset(void);

/// Pins the calling thread to one CPU. 0 or -errno.
int hg_pin_cpu(int cpu);
int hg_online_cpus(void);

/// SIGINT/SIGTERM set a flag instead of killing the process.
void hg_install_stop_handler(void);
void hg_restore_default_handlers(void);
int hg_stop_requested(void);
void hg_request_stop(void);
void hg_clear_stop(void);

/// Monotonic clock in nanoseconds; absolute sleep until a monotonic deadline.
uint64_t hg_now_ns(void);
void hg_sleep_until_ns(uint64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
