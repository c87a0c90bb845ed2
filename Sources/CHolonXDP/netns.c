// The namespace and bpffs helpers of CHolonXDP.h. setns(2) works per thread, so callers enter,
// do their work synchronously on the same thread, and restore.
#define _GNU_SOURCE
#include "CHolonXDP.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

int holon_netns_current(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int holon_netns_enter(const char *name) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/run/netns/%s", name);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) return -errno;
    int old = holon_netns_current();
    if (old < 0) { close(target); return old; }
    if (setns(target, CLONE_NEWNET) != 0) {
        int e = errno;
        close(target);
        close(old);
        return -e;
    }
    close(target);
    return old;
}

int holon_netns_restore(int fd) {
    int r = setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
    close(fd);
    return r;
}

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
