/* fdtrack.c: per-fd opening sites and descriptor classification (see fdtrack.h). */
#include "track/fdtrack.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/backtrace.h"
#include "base/options.h"
#include "base/procfs.h"
#include "track/pysites.h"
#include "track/threads.h"


/* Entries by chunks of 256 descriptors, each mapped when a descriptor of its range is
 * first recorded: 9 MiB of .bss for 16,384 entries counted against RLIMIT_AS from start-up
 * (a program's pthread_create failed under a 24 MB limit only when audited); most
 * processes map one chunk (the kernel merges it with its neighbours: no mapping more for a
 * fork to copy), and only the entries of descriptors actually used are touched. */
const char fa_fd_auditor[] = "forkaudit";
const char fa_fd_inherited[] = "exec";
#define CHUNK 256
static struct fa_fd_origin *chunks[FA_FD_TRACKED / CHUNK];

/* The entry of `fd`; its chunk is mapped first when `create`. NULL: no such entry (never
 * recorded, or no memory for it: the descriptor is then reported without its origin). */
static struct fa_fd_origin *entry(long fd, int create)
{
    if (fd < 0 || fd >= FA_FD_TRACKED) return NULL;
    struct fa_fd_origin **slot = &chunks[fd / CHUNK];
    struct fa_fd_origin *c = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!c && create) {
        size_t len = CHUNK * sizeof *c;
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        struct fa_fd_origin *expect = NULL;
        if (__atomic_compare_exchange_n(slot, &expect, (struct fa_fd_origin *)m, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            c = m;
        } else {
            munmap(m, len);
            c = expect;
        }
    }
    return c ? &c[fd % CHUNK] : NULL;
}

/* The auditor's own descriptors (its log, libunwind's pipe), whatever their numbers, for
 * the fork audit, which counts the descriptors past the part of /proc/self/fd it lists
 * and must leave these out. A slot is reused when its descriptor no longer is ours. */
#define OWN_FDS 8
static struct own_fd {
    int fd; /* fd + 1; 0: free */
    dev_t dev;
    ino_t ino;
} own[OWN_FDS];

static int own_fd_is_live(const struct own_fd *e, int fd)
{
    struct stat st;
    return e->fd == fd + 1 && syscall(SYS_fstat, fd, &st) == 0 && st.st_dev == e->dev && st.st_ino == e->ino;
}

static void remember_own(int fd, const struct stat *st)
{
    struct own_fd *slot = NULL;
    for (int i = 0; i < OWN_FDS && !slot; i++)
        if (own[i].fd == 0 || own[i].fd == fd + 1 || !own_fd_is_live(&own[i], own[i].fd - 1)) slot = &own[i];
    if (!slot) return; /* more than OWN_FDS of ours at once: never seen; then counted as the program's */
    slot->fd = 0;
    slot->dev = st->st_dev;
    slot->ino = st->st_ino;
    __atomic_store_n(&slot->fd, fd + 1, __ATOMIC_RELEASE);
}

int fa_fdtrack_own_above(int fd)
{
    int n = 0;
    for (int i = 0; i < OWN_FDS; i++) {
        int f = __atomic_load_n(&own[i].fd, __ATOMIC_ACQUIRE) - 1;
        if (f > fd && own_fd_is_live(&own[i], f)) n++;
    }
    return n;
}

static void reset(struct fa_fd_origin *o, dev_t dev, ino_t ino)
{
    o->known = 0;
    o->opened_by = NULL;
    o->nframes = 0;
    o->accmode = -1;
    o->py_site = 0;
    o->target[0] = 0;
    o->dev = dev;
    o->ino = ino;
    o->known = 1;
}

void fa_fdtrack_opened(int fd, const char *opened_by, const void *call_site)
{
    if (fd < 0 || (fd >= FA_FD_TRACKED && !fa_in_auditor)) return;
    int saved = errno;
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) == 0) {
        /* libunwind's own pipe belongs with the auditor's descriptors, whoever made
         * libunwind open it (another unwinding library, tcmalloc, may come first) */
        int ours = fa_in_auditor || fa_is_unwinder_pc((uintptr_t)call_site);
        if (ours) remember_own(fd, &st);
        struct fa_fd_origin *o = entry(fd, 1);
        if (o) {
            reset(o, st.st_dev, st.st_ino);
            o->nframes = ours ? 0 : fa_backtrace(o->frames, fa_opts.stack_depth < FA_FD_FRAMES ? fa_opts.stack_depth : FA_FD_FRAMES, call_site);
            o->opened_by = ours ? fa_fd_auditor : opened_by;
            if (!ours) {
                fa_in_auditor++; /* the dump's memfd is the auditor's */
                o->py_site = fa_pysites_capture(fd, &st, opened_by, call_site);
                fa_in_auditor--;
            }
        }
    }
    errno = saved;
}

void fa_fdtrack_mark_auditor(int fd)
{
    struct stat st;
    if (fd < 0 || syscall(SYS_fstat, fd, &st) != 0) return;
    remember_own(fd, &st);
    struct fa_fd_origin *o = entry(fd, 1);
    if (!o) return;
    reset(o, st.st_dev, st.st_ino);
    o->opened_by = fa_fd_auditor;
}

int fa_fdtrack_is_auditor(int fd)
{
    if (fd >= FA_FD_TRACKED) {
        for (int i = 0; i < OWN_FDS; i++)
            if (own_fd_is_live(&own[i], fd)) return 1;
        return 0;
    }
    const struct fa_fd_origin *o = entry(fd, 0);
    if (!o || o->opened_by != fa_fd_auditor || !o->known) return 0;
    struct stat st; /* the number may have been reused behind our back (close_range) */
    return syscall(SYS_fstat, fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino;
}

static void mark_inherited(const char *name, int dirfd, void *ctx)
{
    (void)ctx;
    long fd = fa_proc_number(name);
    struct stat st;
    if (fd < 3 || fd >= FA_FD_TRACKED || fd == dirfd || syscall(SYS_fstat, fd, &st) != 0) return;
    struct fa_fd_origin *o = entry(fd, 1);
    if (!o) return;
    if (o->known && o->dev == st.st_dev && o->ino == st.st_ino) return; /* opened through us before */
    reset(o, st.st_dev, st.st_ino);
    o->opened_by = fa_fd_inherited;
}

void fa_fdtrack_scan_inherited(void)
{
    static char entries[4096]; /* start-up only: no stack for a large buffer */
    int saved = errno;
    fa_proc_each_entry("/proc/self/fd", entries, sizeof entries, mark_inherited, NULL);
    errno = saved;
}

void fa_fdtrack_closed(int fd)
{
    struct fa_fd_origin *o = entry(fd, 0);
    if (o) o->known = 0;
}

const struct fa_fd_origin *fa_fdtrack_lookup(int fd, dev_t dev, ino_t ino)
{
    const struct fa_fd_origin *o = entry(fd, 0);
    if (!o || !o->known || o->dev != dev || o->ino != ino) return NULL;
    return o;
}

void fa_fdtrack_remember(int fd, const struct stat *st, int accmode, const char *target)
{
    struct fa_fd_origin *o = entry(fd, 1);
    if (!o) return;
    if (!o->known || o->dev != st->st_dev || o->ino != st->st_ino) reset(o, st->st_dev, st->st_ino);
    o->accmode = accmode;
    size_t n = strnlen(target, sizeof o->target - 1);
    memcpy(o->target, target, n);
    o->target[n] = 0;
    o->target_ctime = st->st_ctim;
    o->target_nlink = st->st_nlink;
}

const char *fa_fdtrack_target(const struct fa_fd_origin *o, const struct stat *st)
{
    if (!o || !o->target[0] || o->target_nlink != st->st_nlink || o->target_ctime.tv_sec != st->st_ctim.tv_sec ||
        o->target_ctime.tv_nsec != st->st_ctim.tv_nsec)
        return NULL;
    return o->target;
}

/* Where the auditor's descriptors go: the top of the descriptor table every process starts
 * with (64 entries). Below it, the program gets the numbers it would get without us; and
 * the table does not grow (the top of a large range would: fork copies the whole table,
 * which was measured to cost more than the rest of the audit). */
#define AUDITOR_FD_MIN 48

/* 48, or the top of a smaller descriptor limit (`ulimit -n 16`: 12), so that the program's
 * own opens still get the numbers they would get without us. */
static long auditor_fd_min(void)
{
    struct rlimit lim;
    if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &lim) != 0 || lim.rlim_cur >= AUDITOR_FD_MIN + 16) return AUDITOR_FD_MIN;
    return lim.rlim_cur > 7 ? (long)lim.rlim_cur - 4 : 3;
}

int fa_fd_move_high(int fd)
{
    long min = auditor_fd_min();
    if (fd < 0 || fd >= min) return fd;
    long high = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, min);
    if (high < 0 || high >= FA_FD_TRACKED) { /* fds-at-fork must recognise it in the table */
        if (high >= 0) syscall(SYS_close, high);
        return fd;
    }
    syscall(SYS_close, fd);
    return (int)high;
}

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

const char *fa_fd_type(const char *t, unsigned mode)
{
    if (starts(t, "socket:")) return "socket";
    if (starts(t, "pipe:")) return "pipe";
    if (starts(t, "anon_inode:")) {
        t += strlen("anon_inode:");
        if (strstr(t, "eventfd")) return "eventfd";
        if (strstr(t, "eventpoll")) return "epoll";
        if (strstr(t, "timerfd")) return "timerfd";
        if (strstr(t, "signalfd")) return "signalfd";
        if (strstr(t, "inotify")) return "inotify";
        return "anon-inode";
    }
    if (starts(t, "/memfd:")) return "memfd";
    switch (mode & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "directory";
    case S_IFCHR: return "char-device";
    case S_IFBLK: return "block-device";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    default: return "unknown";
    }
}

const char *fa_fd_access(int flags)
{
    switch (flags & O_ACCMODE) {
    case O_RDONLY: return "r";
    case O_WRONLY: return "w";
    default: return "rw";
    }
}
