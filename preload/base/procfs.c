/* procfs.c: see procfs.h. */
#include "base/procfs.h"

#include "base/ownfd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int fa_proc_read(const char *path, struct fa_buf *b)
{
    if (fa_buf_mapped(b, 1 << 16) != 0) return -1;
    long fd = fa_ownfd_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fa_buf_release(b);
        return -1;
    }
    for (;;) {
        if (!fa_buf_reserve(b, 4096)) break;
        long r = syscall(SYS_read, fd, b->p + b->len, b->cap - b->len - 1);
        if (r <= 0) break;
        b->len += (size_t)r;
    }
    fa_ownfd_close(fd);
    b->p[b->len] = 0;
    return 0;
}

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

int fa_proc_walk(const char *path, char *buf, long len, int (*fn)(const char *name, int dirfd, void *ctx), void *ctx)
{
    long dfd = fa_ownfd_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return errno;
    for (int stop = 0; !stop;) {
        long n = syscall(SYS_getdents64, dfd, buf, len);
        if (n <= 0) break;
        for (long off = 0; off < n && !stop;) {
            struct linux_dirent64 *d = (void *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] != '.') stop = fn(d->d_name, (int)dfd, ctx);
        }
        /* No reply but an empty one ends the listing: a short one need not be the last.
         * The kernel cuts a reply after its first entry when a signal is pending for the
         * thread (filldir64), and another thread's audit signals this one (stack_signal,
         * the watchdog's stack collection): /proc/self/task then gave "." alone, and the
         * fork was reported with no threads (issue 14, item 13). */
    }
    fa_ownfd_close(dfd);
    return 0;
}

struct each_entry {
    void (*fn)(const char *name, int dirfd, void *ctx);
    void *ctx;
};

static int each_entry(const char *name, int dirfd, void *ctx)
{
    struct each_entry *e = ctx;
    e->fn(name, dirfd, e->ctx);
    return 0;
}

void fa_proc_each_entry(const char *path, char *buf, long len, void (*fn)(const char *name, int dirfd, void *ctx),
                        void *ctx)
{
    struct each_entry e = {fn, ctx};
    fa_proc_walk(path, buf, len, each_entry, &e);
}

long fa_proc_number(const char *s)
{
    long v = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

const char *fa_proc_fd_path(long fd, char *out, size_t cap)
{
    struct fa_buf b;
    fa_buf_fixed(&b, out, cap);
    fa_puts(&b, "/proc/self/fd/");
    fa_put_dec(&b, fd);
    fa_buf_terminate(&b);
    return out;
}
