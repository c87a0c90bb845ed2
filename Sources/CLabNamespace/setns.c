#define _GNU_SOURCE
#include "CLabNamespace.h"

#include <errno.h>
#include <sched.h>

int holon_lab_setns_net(int fd) { return setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno; }
