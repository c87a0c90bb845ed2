#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "CSpawn.h"

extern char **environ;

/// One request to the spawner thread; lives on the caller's stack while it waits.
struct holon_spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    int fds[3];
    int new_group;
    int death_signal;
    pid_t parent;
    /// Written by the child (it shares our memory until its exec) when it fails before exec.
    volatile int child_errno;
    pid_t result;
    int done;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t posted = PTHREAD_COND_INITIALIZER;
static pthread_cond_t served = PTHREAD_COND_INITIALIZER;
static struct holon_spawn_request *pending;
static pthread_once_t started = PTHREAD_ONCE_INIT;
static int start_error;

/// The child between clone and exec: only async-signal-safe calls, on its own stack. A
/// failure is left in the request (shared memory: CLONE_VM) for the parent to report.
static int child_main(void *arg) {
    struct holon_spawn_request *r = arg;
    if (r->death_signal != 0) {
        // A parent that ended before the prctl would never send it: check it is still ours.
        if (prctl(PR_SET_PDEATHSIG, r->death_signal) != 0 || getppid() != r->parent) {
            r->child_errno = errno != 0 ? errno : ESRCH;
            _exit(127);
        }
    }
    if (r->new_group && setpgid(0, 0) != 0) {
        r->child_errno = errno;
        _exit(127);
    }
    // A descriptor given for one of 0..2 that is itself another of 0..2 is moved out of the
    // way first, so that duplicating one cannot overwrite the next.
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = r->fds[i];
        if (fds[i] < 3 && fds[i] != i) fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (fds[i] < 0) { r->child_errno = errno; _exit(127); }
    }
    for (int i = 0; i < 3; i++) {
        int ok = fds[i] == i ? fcntl(i, F_SETFD, 0) : dup2(fds[i], i);
        if (ok < 0) { r->child_errno = errno; _exit(127); }
    }
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++) {
        if (s != SIGKILL && s != SIGSTOP) (void)sigaction(s, &dfl, NULL);   // glibc's own: EINVAL, fine
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(r->path, r->argv, r->envp != NULL ? r->envp : environ);
    r->child_errno = errno;
    _exit(127);
}

static void serve(struct holon_spawn_request *r) {
    // The child's stack: CLONE_VM shares our memory, so it must not run on ours.
    size_t size = 64 * 1024;
    char *stack = malloc(size);
    if (stack == NULL) { r->result = -ENOMEM; return; }
    r->parent = getpid();
    r->child_errno = 0;
    // CLONE_VFORK: we resume once it has exec'd or exited, as posix_spawn does.
    pid_t pid = clone(child_main, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, r);
    int e = errno;
    free(stack);
    if (pid < 0) { r->result = -e; return; }
    if (r->child_errno != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        r->result = -r->child_errno;
        return;
    }
    r->result = pid;
}

static void *spawner(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (pending == NULL) pthread_cond_wait(&posted, &lock);
        struct holon_spawn_request *r = pending;
        pending = NULL;
        serve(r);
        r->done = 1;
        pthread_cond_broadcast(&served);
    }
    return NULL;
}

static void start_spawner(void) {
    // Every signal blocked in it (inherited from this thread's mask while it is created): a
    // handler must never run in the child between clone and exec.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    start_error = pthread_create(&t, &attr, spawner, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

pid_t holon_spawn_child(const char *path, char *const argv[], char *const envp[], const int fds[3],
                        int new_group, int death_signal) {
    pthread_once(&started, start_spawner);
    if (start_error != 0) return -start_error;
    struct holon_spawn_request r = {
        .path = path, .argv = argv, .envp = envp,
        .fds = { fds[0], fds[1], fds[2] },
        .new_group = new_group, .death_signal = death_signal,
    };
    pthread_mutex_lock(&lock);
    // One request at a time: wait for the slot, post, wait for it to be served.
    while (pending != NULL) pthread_cond_wait(&served, &lock);
    pending = &r;
    pthread_cond_signal(&posted);
    while (!r.done) pthread_cond_wait(&served, &lock);
    pthread_mutex_unlock(&lock);
    return r.result;
}
