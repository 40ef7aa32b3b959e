/* interpose_fd.c: calls that create descriptors record where each was opened; close()
 * forgets it. The fork-time audit enumerates /proc/self/fd for the truth, so a call we
 * miss only loses the opening site, never the descriptor. */
#include "intercept/real.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "track/fdtrack.h"
#include "base/backtrace.h"
#include "out/log.h"
#include "track/threads.h"

/* open(2): the mode argument exists only when O_CREAT or O_TMPFILE is set. */
#define MODE_ARG(flags)                          \
    mode_t mode = 0;                             \
    if (__OPEN_NEEDS_MODE(flags)) {              \
        va_list ap;                              \
        va_start(ap, flags);                     \
        mode = (mode_t)va_arg(ap, int);          \
        va_end(ap);                              \
    }

static int record_opened(int fd, const char *by, const void *call_site)
{
    fa_fdtrack_opened(fd, by, call_site);
    return fd;
}
/* A macro so the call site is the exported wrapper's return address into the program. */
#define opened(fd, by) record_opened((fd), (by), __builtin_return_address(0))

FA_EXPORT int open(const char *path, int flags, ...)
{
    MODE_ARG(flags)
    return opened(FA_REAL(open)(path, flags, mode), "open");
}

FA_EXPORT int open64(const char *path, int flags, ...)
{
    MODE_ARG(flags)
    return opened(FA_REAL(open64)(path, flags, mode), "open64");
}

FA_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    MODE_ARG(flags)
    return opened(FA_REAL(openat)(dirfd, path, flags, mode), "openat");
}

FA_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    MODE_ARG(flags)
    return opened(FA_REAL(openat64)(dirfd, path, flags, mode), "openat64");
}

/* _FORTIFY_SOURCE builds call these instead of open/openat. */
FA_EXPORT int __open_2(const char *path, int flags) { return opened(FA_REAL(__open_2)(path, flags), "open"); }
FA_EXPORT int __open64_2(const char *path, int flags) { return opened(FA_REAL(__open64_2)(path, flags), "open64"); }
FA_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    return opened(FA_REAL(__openat_2)(dirfd, path, flags), "openat");
}
FA_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    return opened(FA_REAL(__openat64_2)(dirfd, path, flags), "openat64");
}

FA_EXPORT int creat(const char *path, mode_t mode) { return opened(FA_REAL(creat)(path, mode), "creat"); }
FA_EXPORT int creat64(const char *path, mode_t mode) { return opened(FA_REAL(creat64)(path, mode), "creat64"); }

FA_EXPORT int socket(int domain, int type, int protocol)
{
    return opened(FA_REAL(socket)(domain, type, protocol), "socket");
}

FA_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    int rc = FA_REAL(socketpair)(domain, type, protocol, sv);
    if (rc == 0) {
        opened(sv[0], "socketpair");
        opened(sv[1], "socketpair");
    }
    return rc;
}

/* libunwind makes a pipe for itself (to probe memory) while the auditor runs: it goes to
 * descriptor 48 or above (or the top of a small range), out of the program's way
 * (fa_fd_move_high), and lives until the unwind ends (fa_backtrace_pipe_made). One made
 * by libunwind for another of its users stays as it is. */
static void move_auditor_pipe(int fds[2], const void *caller)
{
    int unwinder = fa_is_unwinder_pc((uintptr_t)caller);
    if (!fa_in_auditor) {
        if (unwinder) fa_backtrace_pipe_made(fds, 0);
        return;
    }
    fds[0] = fa_fd_move_high(fds[0]);
    fds[1] = fa_fd_move_high(fds[1]);
    if (unwinder) fa_backtrace_pipe_made(fds, 1);
}

FA_EXPORT int pipe(int fds[2])
{
    int rc = FA_REAL(pipe)(fds);
    if (rc == 0) {
        move_auditor_pipe(fds, __builtin_return_address(0));
        opened(fds[0], "pipe");
        opened(fds[1], "pipe");
    }
    return rc;
}

FA_EXPORT int pipe2(int fds[2], int flags)
{
    /* libunwind's pipe is not fenced like the audit's other descriptors (base/ownfd.h):
     * made inside a stack_signal handler, a fenced section had a concurrent fds listing
     * report it as the program's (test_hostile_runtime, 2 to 5 of 8 runs). A child forked
     * meanwhile closes it (fa_backtrace_after_fork_child). */
    int rc = FA_REAL(pipe2)(fds, flags);
    if (rc == 0) {
        move_auditor_pipe(fds, __builtin_return_address(0));
        opened(fds[0], "pipe2");
        opened(fds[1], "pipe2");
    }
    return rc;
}

/* The auditor's own descriptors (its log, libunwind's pipe; see fa_fd_move_high) are refused to
 * close() with EBADF, as valgrind does with its own, and as the program would be refused
 * without us, where those numbers are not open: a program closing "every" descriptor keeps
 * running. Used as a source (dup2(ours, n)) they are refused the same way. */
static int refuse(void)
{
    errno = EBADF;
    return -1;
}

FA_EXPORT int dup(int fd)
{
    if (FA_UNLIKELY(fa_fdtrack_is_auditor(fd))) return refuse();
    return opened(FA_REAL(dup)(fd), "dup");
}

/* As a dup2/dup3 target one of them is given up, since without us the call would succeed:
 * the log is reopened at another number at its next write (log.c checks the file's
 * identity); libunwind keeps its pipe's numbers, so unwinding stops for good. */
static void give_up(int fd)
{
    if (fd != fa_log_own_fd()) fa_backtrace_pipe_taken();
}

#define DUP_CHECKS(oldfd, newfd)                                                      \
    do {                                                                              \
        if (FA_UNLIKELY(fa_fdtrack_is_auditor(oldfd))) return refuse();               \
        if (FA_UNLIKELY(fa_fdtrack_is_auditor(newfd)) && (oldfd) != (newfd)) give_up(newfd); \
    } while (0)

FA_EXPORT int dup2(int oldfd, int newfd)
{
    DUP_CHECKS(oldfd, newfd);
    int rc = FA_REAL(dup2)(oldfd, newfd);
    if (rc >= 0 && oldfd != newfd) opened(rc, "dup2");
    return rc;
}

FA_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    DUP_CHECKS(oldfd, newfd);
    return opened(FA_REAL(dup3)(oldfd, newfd, flags), "dup3");
}

FA_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return opened(FA_REAL(accept)(fd, addr, len), "accept");
}

FA_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return opened(FA_REAL(accept4)(fd, addr, len, flags), "accept4");
}

static FILE *record_stream(FILE *f, const char *by, const void *call_site)
{
    if (f) fa_fdtrack_opened(fileno(f), by, call_site);
    return f;
}
#define opened_stream(f, by) record_stream((f), (by), __builtin_return_address(0))

FA_EXPORT FILE *fopen(const char *path, const char *mode) { return opened_stream(FA_REAL(fopen)(path, mode), "fopen"); }
FA_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    return opened_stream(FA_REAL(fopen64)(path, mode), "fopen64");
}

FA_EXPORT int close(int fd)
{
    if (FA_UNLIKELY(fa_fdtrack_is_auditor(fd))) return refuse();
    fa_fdtrack_closed(fd);
    return FA_REAL(close)(fd);
}
