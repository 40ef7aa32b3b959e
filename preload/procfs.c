/* procfs.c: see procfs.h. */
#include "procfs.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int fa_proc_read(const char *path, struct fa_buf *b)
{
    if (fa_buf_mapped(b, 1 << 16) != 0) return -1;
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
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
    syscall(SYS_close, fd);
    b->p[b->len] = 0;
    return 0;
}
