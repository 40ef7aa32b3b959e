/* fdtrack.h: where each descriptor was opened. The interposed open/socket/pipe/dup/...
 * calls record the stack per fd number together with the file's identity (device,
 * inode), so a stale entry (fd closed behind our back and reused) is never attributed. */
#ifndef FA_FDTRACK_H
#define FA_FDTRACK_H

#include <sys/types.h>

#include "fa.h"

struct fa_fd_origin {
    dev_t dev;
    ino_t ino;
    const char *opened_by; /* name of the interposed call, NULL when the entry is empty */
    int nframes;
    uintptr_t frames[FA_MAX_FRAMES];
};

/* `opened_by` of descriptors the auditor's own code (libunwind) opened: not reported. */
extern const char fa_fd_auditor[];

/* Called after a call created `fd` (fd < 0 is ignored). Keeps errno. */
void fa_fdtrack_opened(int fd, const char *opened_by);
void fa_fdtrack_closed(int fd);
/* The origin of `fd` when its recorded identity matches (dev, ino), else NULL. */
const struct fa_fd_origin *fa_fdtrack_lookup(int fd, dev_t dev, ino_t ino);

/* Classification of a descriptor from its /proc/self/fd link and st_mode: "file",
 * "directory", "pipe", "fifo", "socket", "char-device", "block-device", "eventfd",
 * "epoll", "timerfd", "signalfd", "inotify", "memfd", "anon-inode" or "unknown". */
const char *fa_fd_type(const char *target, unsigned st_mode);
/* "r", "w" or "rw" from the F_GETFL flags. */
const char *fa_fd_access(int flags);

#endif
