// What Spawn needs from the C library that Glibc's Swift overlay does not import: pipe2(2)
// sits behind _GNU_SOURCE in <unistd.h>.
#ifndef CSPAWN_H
#define CSPAWN_H

/// A pipe whose two ends are close-on-exec from the start (no window in which another
/// thread's child could inherit them). 0, or -1 with errno set.
int holon_spawn_pipe(int fds[2]);

#endif
