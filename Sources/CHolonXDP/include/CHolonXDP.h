// What Swift imports from CHolonXDP: the shared map layouts and the small helpers the loader
// needs that Glibc's Swift overlay lacks (statfs/mount of bpffs, CLOCK_TAI).
#ifndef CHOLONXDP_H
#define CHOLONXDP_H

#include "holon_xdp_shared.h"

/// Makes sure a BPF filesystem is mounted at `path` (mounting one if not). 0 or -errno.
int holon_bpffs_ensure(const char *path);

/// CLOCK_TAI − CLOCK_REALTIME in ns: what turns a bpf_ktime_get_tai_ns stamp into Unix time.
long long holon_tai_offset_ns(void);

#endif
