/* fdtrack.c: per-fd opening sites and descriptor classification (see fdtrack.h). */
#include "fdtrack.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backtrace.h"
#include "options.h"
#include "threads.h"


/* Descriptors above this are not tracked (their origin is reported as unknown). */
#define FDTRACK_LIMIT 65536

const char fa_fd_auditor[] = "forkaudit";
static struct fa_fd_origin *table;
static int table_size;
static int table_state; /* 0 not yet, 1 mapped, -1 failed */

static int ensure_table(void)
{
    int st = __atomic_load_n(&table_state, __ATOMIC_ACQUIRE);
    if (st) return st > 0;
    struct rlimit rl;
    long n = FDTRACK_LIMIT;
    if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur < (rlim_t)n) n = (long)rl.rlim_cur;
    if (n < 1024) n = 1024;
    /* MAP_NORESERVE: only the entries of descriptors actually opened use memory. */
    void *p = mmap(NULL, (size_t)n * sizeof *table, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    int expect = 0;
    if (p == MAP_FAILED) {
        __atomic_compare_exchange_n(&table_state, &expect, -1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
        return 0;
    }
    /* Two threads may race here: the loser unmaps its copy. */
    if (__atomic_compare_exchange_n(&table_state, &expect, 2, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        table = p;
        table_size = (int)n;
        __atomic_store_n(&table_state, 1, __ATOMIC_RELEASE);
        return 1;
    }
    munmap(p, (size_t)n * sizeof *table);
    while ((st = __atomic_load_n(&table_state, __ATOMIC_ACQUIRE)) == 2) syscall(SYS_sched_yield);
    return st > 0;
}

void fa_fdtrack_opened(int fd, const char *opened_by)
{
    if (fd < 0) return;
    int saved = errno;
    struct stat st;
    if (ensure_table() && fd < table_size && syscall(SYS_fstat, fd, &st) == 0) {
        struct fa_fd_origin *o = &table[fd];
        o->opened_by = NULL;
        o->dev = st.st_dev;
        o->ino = st.st_ino;
        o->nframes = fa_in_auditor ? 0 : fa_backtrace(o->frames, fa_opts.stack_depth);
        o->opened_by = fa_in_auditor ? fa_fd_auditor : opened_by;
    }
    errno = saved;
}

void fa_fdtrack_closed(int fd)
{
    if (fd >= 0 && fd < table_size && table) table[fd].opened_by = NULL;
}

const struct fa_fd_origin *fa_fdtrack_lookup(int fd, dev_t dev, ino_t ino)
{
    if (fd < 0 || fd >= table_size || !table) return NULL;
    const struct fa_fd_origin *o = &table[fd];
    if (!o->opened_by || o->dev != dev || o->ino != ino) return NULL;
    return o;
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
