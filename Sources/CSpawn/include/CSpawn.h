// What Spawn needs from the C library that Glibc's Swift overlay does not import or posix_spawn
// cannot do: pipe2(2) sits behind _GNU_SOURCE in <unistd.h>, and a child that ends with us
// needs prctl(PR_SET_PDEATHSIG) between its fork and its exec.
#ifndef CSPAWN_H
#define CSPAWN_H

#include <sys/types.h>

/// A pipe whose two ends are close-on-exec from the start (no window in which another
/// thread's child could inherit them). 0, or -1 with errno set.
int holon_spawn_pipe(int fds[2]);

/// Starts `path` (no PATH search) with `argv` and `envp` (NULL: ours). Its stdin, stdout and
/// stderr are `fds[0..2]`, duplicated; every other descriptor of ours that is close-on-exec
/// stays ours. Every signal is at its default and unblocked in it. `new_group`: it leads a
/// process group of its own. `death_signal` (0: none): sent to it when this process ends,
/// however it ends (SIGKILL included), so no child outlives a killed parent.
///
/// Linux sends the death signal when the *thread* that started the child ends, not the
/// process, so every child is started from one thread that lives as long as the process
/// (created on first use, every signal blocked in it); callers on any thread wait for it.
///
/// The child's pid, or -errno (the program is missing or not executable, or the fork failed).
pid_t holon_spawn_child(const char *path, char *const argv[], char *const envp[], const int fds[3],
                        int new_group, int death_signal);

#endif
