// What Swift imports from CHolonXDP: the shared map layouts and the small helpers the loader
// needs that Glibc's Swift overlay lacks (setns, statfs/mount of bpffs).
#ifndef CHOLONXDP_H
#define CHOLONXDP_H

#include "holon_xdp_shared.h"

/// Opens /proc/self/task/<tid>/ns/net: the calling thread's network namespace. -errno on failure.
int holon_netns_current(void);

/// Moves the calling thread into the named namespace (/run/netns/NAME). Returns the fd of the
/// namespace it left, to hand to holon_netns_restore, or -errno.
int holon_netns_enter(const char *name);

/// Moves the calling thread back into `fd`'s namespace and closes `fd`. 0 or -errno.
int holon_netns_restore(int fd);

/// Makes sure a BPF filesystem is mounted at `path` (mounting one if not). 0 or -errno.
int holon_bpffs_ensure(const char *path);

/// CLOCK_TAI − CLOCK_REALTIME in ns: what turns a bpf_ktime_get_tai_ns stamp into Unix time.
long long holon_tai_offset_ns(void);

#endif
