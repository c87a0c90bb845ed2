// What Lab needs from the C library that Glibc's Swift overlay does not import: setns(2) and
// CLONE_NEWNET sit behind _GNU_SOURCE in <sched.h>.
#ifndef CLABNAMESPACE_H
#define CLABNAMESPACE_H

/// Moves the calling thread into the network namespace open at `fd`. 0 or -errno.
int holon_lab_setns_net(int fd);

#endif
