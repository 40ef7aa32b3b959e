/* execaudit.c: the exec-time audit (see execaudit.h). It runs where the exec runs, often
 * in a forked child just before exec: only raw system calls, memory from mmap, no locks,
 * no malloc, no stdio (the symbolizer and the log writer keep the same rules). */
#include "audit/execaudit.h"

#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit/audit.h"
#include "base/backtrace.h"
#include "track/fdtrack.h"
#include "base/fmt.h"
#include "out/log.h"
#include "base/options.h"
#include "base/process.h"
#include "base/procfs.h"
#include "findings/findings.h"
#include "track/threads.h"

/* ------------------------------------------------------ posix_spawn's file actions */

/* The file actions are read from glibc's own array rather than by interposing
 * posix_spawn_file_actions_*: the array is exactly what glibc's child will carry out,
 * however the object was built (glibc-internal callers, copies, objects never destroyed),
 * and there is no table of ours to fill up or go stale. posix_spawn_file_actions_t
 * (__allocated, __used, __actions) is public ABI; its elements are glibc's internal
 * struct __spawn_action (posix/spawn_int.h), copied below. Layout and tags are those of
 * glibc 2.34 (closefrom added) to 2.42 (2.35 appended tcsetpgrp): checked in Debian's
 * 2.36 source and in glibc's 2025 sources, and by tests/unit/test_exec.c, which builds
 * actions with glibc's own functions and reads them back. Under a glibc outside that range
 * a posix_spawn with file actions is not audited rather than misread. */
struct glibc_spawn_action {
    enum { DO_CLOSE, DO_DUP2, DO_OPEN, DO_CHDIR, DO_FCHDIR, DO_CLOSEFROM, DO_TCSETPGRP } tag;
    union {
        struct { int fd; } close_action;
        struct { int fd, newfd; } dup2_action;
        struct { int fd; char *path; int oflag; mode_t mode; } open_action;
        struct { char *path; } chdir_action;
        struct { int fd; } fchdir_action;
        struct { int from; } closefrom_action;
        struct { int fd; } setpgrp_action;
    } action;
};

int fa_spawn_actions_readable(void)
{
    const char *v = gnu_get_libc_version(); /* "2.36": a constant string */
    int minor = 0;
    if (v[0] != '2' || v[1] != '.') return 0;
    for (const char *p = v + 2; *p >= '0' && *p <= '9'; p++) minor = minor * 10 + (*p - '0');
    return minor >= 34 && minor <= 42;
}

int fa_spawn_actions_touch(const posix_spawn_file_actions_t *a, int fd)
{
    if (!a || a->__used <= 0 || a->__used > a->__allocated || !a->__actions) return 0;
    const struct glibc_spawn_action *act = (const void *)a->__actions;
    for (int i = 0; i < a->__used; i++) {
        switch (act[i].tag) {
        case DO_CLOSE:
            if (act[i].action.close_action.fd == fd) return 1;
            break;
        case DO_DUP2: /* put there on purpose; dup2(fd, fd) clears close-on-exec on purpose */
            if (act[i].action.dup2_action.newfd == fd) return 1;
            break;
        case DO_OPEN:
            if (act[i].action.open_action.fd == fd) return 1;
            break;
        case DO_CLOSEFROM:
            if (fd >= act[i].action.closefrom_action.from) return 1;
            break;
        default: /* chdir, fchdir, tcsetpgrp: no descriptor changes */
            break;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ the program to run */

static int executable(int dirfd, const char *path)
{
    struct stat st;
    return syscall(SYS_faccessat, dirfd, path, X_OK) == 0 && syscall(SYS_newfstatat, dirfd, path, &st, 0) == 0 &&
           S_ISREG(st.st_mode);
}

/* Appends the /proc/self/fd link of `fd` (fexecve's file, execveat's directory). */
static int put_fd_target(struct fa_buf *b, int fd)
{
    char link[48];
    fa_proc_fd_path(fd, link, sizeof link);
    if (b->len + 2 >= b->cap) return 0;
    long r = syscall(SYS_readlinkat, AT_FDCWD, link, b->p + b->len, b->cap - b->len - 2);
    if (r <= 0) return 0;
    b->len += (size_t)r;
    return 1;
}

extern char **environ;

/* execvp's search: the first PATH entry holding an executable `file`. */
static int search_path(const char *file, struct fa_buf *b)
{
    const char *path = NULL;
    for (char **e = environ; e && *e && !path; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    if (!path) path = "/bin:/usr/bin"; /* glibc's default */
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        b->len = 0;
        b->truncated = 0;
        if (end > p) { /* an empty entry is the current directory */
            fa_putsn(b, p, (size_t)(end - p));
            fa_putc(b, '/');
        }
        fa_puts(b, file);
        fa_buf_terminate(b);
        if (!b->truncated && executable(AT_FDCWD, b->p)) return 1;
        if (!*end) return 0;
        p = end;
    }
}

/* The program about to run, into `b`. 0 when the exec cannot start it (no such file, not
 * executable): the exec fails on its own and nothing passes anywhere. */
static int resolve_program(const struct fa_exec_call *c, struct fa_buf *b)
{
    if (c->at_empty_path && c->path && !c->path[0]) {
        struct stat st;
        if (syscall(SYS_fstat, c->dirfd, &st) != 0 || !S_ISREG(st.st_mode) || !put_fd_target(b, c->dirfd)) return 0;
    } else if (!c->path || !c->path[0]) {
        return 0;
    } else if (c->search && !strchr(c->path, '/')) {
        return search_path(c->path, b);
    } else {
        if (!executable(c->dirfd, c->path)) return 0;
        if (c->path[0] != '/' && c->dirfd != AT_FDCWD) { /* execveat relative to a directory */
            if (!put_fd_target(b, c->dirfd)) return 0;
            fa_putc(b, '/');
        }
        fa_puts(b, c->path);
    }
    fa_buf_terminate(b);
    return !b->truncated;
}

/* ------------------------------------------------------------- the descriptors */

#define PROGRAM_BYTES 4096
#define EXEC_RENDER_BYTES ((size_t)64 * 1024) /* larger records get a temporary mapping (out/record.c) */

struct leak_scan {
    struct fa_snapshot *s;
    const posix_spawn_file_actions_t *actions;
    long seen, last; /* entries listed, the highest number among them */
};

/* Adds entry `name` of /proc/self/fd when that descriptor passes into the new program. */
static void add_leak(struct leak_scan *scan, const char *name, int dirfd)
{
    long fd = fa_proc_number(name);
    if (fd < 3 || fd == dirfd) return;
    long fdflags = syscall(SYS_fcntl, fd, F_GETFD);
    if (fdflags < 0 || (fdflags & FD_CLOEXEC) || fa_spawn_actions_touch(scan->actions, (int)fd)) return;
    fa_audit_add_fd(scan->s, dirfd, name, fd, fdflags);
}

/* Once max_fds leaks are listed the walk stops: the descriptors past that point are
 * counted (fds_unchecked), not listed, and their close-on-exec flags are not read (at
 * 20,000 descriptors the listing and the reads cost tens of milliseconds per exec). */
static int walk_leaks(const char *name, int dirfd, void *ctx)
{
    struct leak_scan *scan = ctx;
    long fd = fa_proc_number(name);
    scan->seen++;
    if (fd > scan->last) scan->last = fd;
    add_leak(scan, name, dirfd);
    if (scan->s->nfds < scan->s->max_fds) return 0;
    long rest = fa_audit_fds_unlisted(dirfd, scan->seen, scan->last, fa_log_own_fd());
    if (rest < 0) return 0; /* an older kernel: go on, counting */
    scan->s->fds_unchecked = (unsigned long)rest;
    return 1;
}

static void collect_leaks(struct fa_snapshot *s, const posix_spawn_file_actions_t *actions)
{
    struct leak_scan scan = {s, actions, 0, -1};
    fa_proc_walk("/proc/self/fd", s->dirents, FA_SNAP_DIRENT_BYTES, walk_leaks, &scan);
}

struct candidate_scan {
    const posix_spawn_file_actions_t *actions;
    int found;
};

/* Counts a descriptor that would pass into the new program, as add_leak would list it. */
static void count_candidate(const char *name, int dirfd, void *ctx)
{
    struct candidate_scan *scan = ctx;
    long fd = fa_proc_number(name);
    if (scan->found || fd < 3 || fd == dirfd) return;
    long fdflags = syscall(SYS_fcntl, fd, F_GETFD);
    if (fdflags >= 0 && !(fdflags & FD_CLOEXEC) && !fa_spawn_actions_touch(scan->actions, (int)fd)) scan->found = 1;
}

/* Whether any descriptor would pass into the new program: the common answer, no, costs
 * one listing into a buffer on the stack, without the audit's mapping, its page faults
 * and the checks of the program (every exec of a shell loop pays this). */
static int any_candidate(const posix_spawn_file_actions_t *actions)
{
    char dirents[1024] __attribute__((aligned(8)));
    struct candidate_scan scan = {actions, 0};
    fa_proc_each_entry("/proc/self/fd", dirents, sizeof dirents, count_candidate, &scan);
    return scan.found;
}

void fa_exec_audit(const struct fa_exec_call *c)
{
    /* Only in a process whose memory is its own and known to us: not before our
     * constructor ran, and not in a child made without our fork handlers. That may be a
     * vfork child, which shares its parent's memory: any store of ours (fa_in_auditor,
     * the log descriptor) would stay in the parent once the exec succeeds. */
    pid_t pid = __atomic_load_n(&fa_proc.pid, __ATOMIC_RELAXED);
    if (pid == 0 || pid != (pid_t)syscall(SYS_getpid) || fa_in_auditor) return;
    if (c->actions && c->actions->__used > 0 && !fa_spawn_actions_readable()) return;
    int saved = errno;
    fa_in_auditor++;
    if (!any_candidate(c->actions)) {
        fa_in_auditor--;
        errno = saved;
        return;
    }
    struct fa_snap_layout layout = {.max_fds = fa_opts.max_fds, .extra_bytes = PROGRAM_BYTES,
                                    .render_bytes = EXEC_RENDER_BYTES};
    char *program;
    struct fa_snapshot *s = fa_snapshot_map(&layout, &program);
    if (s) {
        struct fa_buf b;
        fa_buf_fixed(&b, program, PROGRAM_BYTES);
        if (resolve_program(c, &b)) collect_leaks(s, c->actions);
        if (s->nfds > 0 || s->fds_dropped > 0 || s->fds_unchecked > 0) {
            s->exec_via = c->via;
            if (fa_proc.forked_child) { /* the fork that made this process, as child records say */
                s->seq = fa_proc.born_seq;
                s->child = pid;
                s->via = fa_proc.born_via;
            }
            s->exec_path = program;
            s->exec_argv0 = c->argv ? c->argv[0] : NULL;
            s->pid = pid;
            s->ppid = (pid_t)syscall(SYS_getppid);
            s->tid = fa_self ? fa_self->tid : fa_gettid();
            s->stack.n = fa_backtrace(s->stack.pc, fa_opts.stack_depth, c->call_site);
            fa_findings_exec(s, &fa_opts);
        }
        fa_snapshot_release(s);
    }
    fa_in_auditor--;
    errno = saved;
}
