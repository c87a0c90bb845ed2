#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "CSpawn.h"

int holon_spawn_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
