// The bpffs and clock helpers of CHolonXDP.h (namespaces are Lab's: Sources/Lab/NetworkNamespace.swift).
#include "CHolonXDP.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

int holon_bpffs_ensure(const char *path) {
    struct statfs st;
    if (statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC) return 0;
    mkdir(path, 0700);
    if (mount("bpf", path, "bpf", 0, "mode=0700") != 0) return -errno;
    return 0;
}

long long holon_tai_offset_ns(void) {
    struct timespec tai, real;
    clock_gettime(CLOCK_TAI, &tai);
    clock_gettime(CLOCK_REALTIME, &real);
    return (long long)(tai.tv_sec - real.tv_sec) * 1000000000LL + (tai.tv_nsec - real.tv_nsec);
}
