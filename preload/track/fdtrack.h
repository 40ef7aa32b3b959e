/* fdtrack.h: what the auditor knows about each descriptor number: where it was opened
 * (recorded by the interposed open/socket/pipe/dup/... calls) and, once a fork has looked
 * at it, its access mode and /proc/self/fd target. Everything is tied to the file's
 * identity (device, inode), so a stale entry (fd closed behind our back and reused) is
 * never attributed, and later forks skip the readlink and fcntl for known descriptors. */
#ifndef FA_FDTRACK_H
#define FA_FDTRACK_H

#include <sys/stat.h>
#include <sys/types.h>

#include "base/fa.h"

/* Descriptors from 0 to FA_FD_TRACKED-1 are tracked; higher ones are still reported,
 * without opening site. Opening stacks keep at most FA_FD_FRAMES frames. */
#define FA_FD_TRACKED 16384
#define FA_FD_FRAMES 32

struct fa_fd_origin {
    /* Ordered so no padding sits between members (16,384 entries). */
    dev_t dev;
    ino_t ino;
    int known;             /* dev and ino are valid */
    int nframes;
    const char *opened_by; /* name of the interposed call, NULL when not seen opening */
    uintptr_t frames[FA_FD_FRAMES];
    /* /proc/self/fd link seen at a fork ("" when not yet), valid while the inode's change
     * time and link count are those seen then (a rename or unlink changes them) */
    struct timespec target_ctime;
    nlink_t target_nlink;
    int accmode;           /* O_ACCMODE and O_APPEND bits seen at a fork, -1 when not yet */
    int py_site;           /* its Python opening site (track/pysites.h), 0 when none */
    char target[256];
};

/* `opened_by` of descriptors the auditor's own code (libunwind) opened: not reported. */
extern const char fa_fd_auditor[];
/* `opened_by` of descriptors the process already had when the library started: inherited
 * from whatever exec'd it (a shell's or CI runner's leak), not the program's doing. */
extern const char fa_fd_inherited[];

/* At start-up: every open descriptor from 3 up that no interposed call has recorded
 * becomes fa_fd_inherited. System calls only. */
void fa_fdtrack_scan_inherited(void);

/* Called after a call created `fd` (fd < 0 is ignored); `call_site` is the return address
 * into the program. Keeps errno. */
void fa_fdtrack_opened(int fd, const char *opened_by, const void *call_site);
void fa_fdtrack_closed(int fd);
/* The entry of `fd` when its recorded identity matches (dev, ino), else NULL. */
const struct fa_fd_origin *fa_fdtrack_lookup(int fd, dev_t dev, ino_t ino);
/* Remembers the access mode and link target a fork saw for `fd` (an entry for another
 * identity is reset first). */
void fa_fdtrack_remember(int fd, const struct stat *st, int accmode, const char *target);
/* The remembered target of `fd` if the file has not been renamed or unlinked since. */
const char *fa_fdtrack_target(const struct fa_fd_origin *o, const struct stat *st);

/* Records `fd` as the auditor's own (not reported, not closable by the program). */
void fa_fdtrack_mark_auditor(int fd);
/* 1 when `fd` is, right now, a descriptor of the auditor's own. */
int fa_fdtrack_is_auditor(int fd);
/* How many of the auditor's own descriptors are open now with numbers above `fd`. */
int fa_fdtrack_own_above(int fd);

/* Moves a descriptor of the auditor's own (its log, libunwind's pipe) to 48 or above (the top of the range under a descriptor limit below 64),
 * close-on-exec, so the program's own opens get the numbers they would get without the
 * auditor. Returns the new descriptor, or `fd` when it cannot move it. */
int fa_fd_move_high(int fd);

/* Classification of a descriptor from its /proc/self/fd link and st_mode: "file",
 * "directory", "pipe", "fifo", "socket", "char-device", "block-device", "eventfd",
 * "epoll", "timerfd", "signalfd", "inotify", "memfd", "anon-inode" or "unknown". */
const char *fa_fd_type(const char *target, unsigned st_mode);
/* "r", "w" or "rw" from the F_GETFL flags. */
const char *fa_fd_access(int flags);

#endif
