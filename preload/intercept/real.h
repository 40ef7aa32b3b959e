/* real.h: pointers to the functions the library interposes ("real" = the next definition
 * after ours, normally glibc's). Resolved eagerly in the constructor and lazily on first
 * use, so calls that arrive before our constructor (another library's constructor) work. */
#ifndef FA_REAL_H
#define FA_REAL_H

#define _GNU_SOURCE 1
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <threads.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fa.h"

/* Not in public headers. */
int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

/* The functions of the lock families come from track/locks.def (its FA_LOCK_FN rows, each
 * with the symbol version to ask for, or NULL for the default: pthread_cond_* exist in two
 * versions and the plain dlsym could return the old GLIBC_2.2.5 ABI). These are the others:
 * X(name, symbol version or NULL). */
#define FA_REAL_OTHER_FUNCTIONS(X)          \
    X(pthread_create, NULL)                 \
    X(fork, NULL)                           \
    X(__register_atfork, NULL)              \
    X(dlclose, NULL)                        \
    X(open, NULL)                           \
    X(open64, NULL)                         \
    X(openat, NULL)                         \
    X(openat64, NULL)                       \
    X(__open_2, NULL)                       \
    X(__open64_2, NULL)                     \
    X(__openat_2, NULL)                     \
    X(__openat64_2, NULL)                   \
    X(creat, NULL)                          \
    X(creat64, NULL)                        \
    X(socket, NULL)                         \
    X(socketpair, NULL)                     \
    X(pipe, NULL)                           \
    X(pipe2, NULL)                          \
    X(dup, NULL)                            \
    X(dup2, NULL)                           \
    X(dup3, NULL)                           \
    X(accept, NULL)                         \
    X(accept4, NULL)                        \
    X(fopen, NULL)                          \
    X(fopen64, NULL)                        \
    X(close, NULL)                          \
    X(srand, NULL)                          \
    X(srandom, NULL)                        \
    X(initstate, NULL)                      \
    X(rand, NULL)                           \
    X(random, NULL)                         \
    X(srand48, NULL)                        \
    X(seed48, NULL)                         \
    X(lcong48, NULL)                        \
    X(drand48, NULL)                        \
    X(lrand48, NULL)                        \
    X(mrand48, NULL)                        \
    X(execve, NULL)                         \
    X(execv, NULL)                          \
    X(execvp, NULL)                         \
    X(execvpe, NULL)                        \
    X(fexecve, NULL)                        \
    X(execveat, NULL)                       \
    X(posix_spawn, NULL)                    \
    X(posix_spawnp, NULL)                   \
    X(popen, NULL)                          \
    X(system, NULL)

enum fa_real_id {
#define FA_LOCK_FN(ID, role, mode, fn, ver) FA_ID_##fn,
#include "track/locks.def"
#define X(fn, ver) FA_ID_##fn,
    FA_REAL_OTHER_FUNCTIONS(X)
#undef X
    FA_REAL_COUNT
};

struct fa_real_table {
/* NOLINTNEXTLINE(bugprone-macro-parentheses): fn names a member */
#define FA_LOCK_FN(ID, role, mode, fn, ver) __typeof__(&fn) fn;
#include "track/locks.def"
#define X(fn, ver) __typeof__(&fn) fn; /* NOLINT(bugprone-macro-parentheses): fn names a member */
    FA_REAL_OTHER_FUNCTIONS(X)
#undef X
};

extern struct fa_real_table fa_real;

/* Resolves one function; returns NULL only if no library defines it. */
void *fa_resolve(enum fa_real_id id);
/* Resolves every function (constructor). */
void fa_resolve_all(void);

#define FA_REAL(fn) \
    (FA_LIKELY(fa_real.fn != NULL) ? fa_real.fn : (__typeof__(fa_real.fn))fa_resolve(FA_ID_##fn))

#endif
