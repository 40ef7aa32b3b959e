/* procfs.h: read a whole /proc file with system calls only (async-signal-safe). */
#ifndef FA_PROCFS_H
#define FA_PROCFS_H

#include <stddef.h>

#include "base/fmt.h"

/* Reads `path` into a new mapped buffer `b` (NUL-terminated; release it with
 * fa_buf_release). Returns 0, or -1 when the file cannot be opened or mapped. */
int fa_proc_read(const char *path, struct fa_buf *b);

/* Calls fn(name, dirfd, ctx) for every entry of the directory `path` but "." and "..",
 * reading entries with getdents64 into `buf` (`len` bytes: the caller's, so that nothing
 * lands on the stack, whose pages fault after a fork). System calls only. */
void fa_proc_each_entry(const char *path, char *buf, long len, void (*fn)(const char *name, int dirfd, void *ctx),
                        void *ctx);
/* The same walk, stopped as soon as fn returns non-zero. Returns 0, or the errno of the
 * directory's open (EMFILE when the program uses every descriptor it may). */
int fa_proc_walk(const char *path, char *buf, long len, int (*fn)(const char *name, int dirfd, void *ctx), void *ctx);

/* "/proc/self/fd/FD" into `out` (40 bytes hold any), returned. */
const char *fa_proc_fd_path(long fd, char *out, size_t cap);

/* The decimal number `s` (a pid, tid or fd entry name), -1 when it is not one. */
long fa_proc_number(const char *s);

#endif
