/* execaudit.h: the exec-time audit (fds-leaked-at-exec): just before an exec or a
 * posix_spawn, the descriptors that pass into the new program. */
#ifndef FA_EXECAUDIT_H
#define FA_EXECAUDIT_H

#include <spawn.h>

/* One exec or spawn about to happen, as the program asked for it. */
struct fa_exec_call {
    const char *via;    /* "execve", "execl", "posix_spawn", ... */
    int dirfd;          /* AT_FDCWD, or execveat's directory, or fexecve's descriptor */
    const char *path;   /* the program as given */
    int search;         /* execvp-like: a path without '/' is looked up in PATH */
    int at_empty_path;  /* AT_EMPTY_PATH: an empty path names dirfd itself (fexecve) */
    char *const *argv;
    const posix_spawn_file_actions_t *actions; /* posix_spawn's, or NULL */
    const void *call_site; /* return address into the program */
};

/* Writes one fds-leaked-at-exec record when descriptors other than 0-2 lack close-on-exec
 * (and posix_spawn's file actions neither close nor replace them); nothing otherwise, and
 * nothing for an exec that cannot start (no such program). Async-signal-safe: it runs in
 * forked children before exec. Keeps errno. */
void fa_exec_audit(const struct fa_exec_call *c);

/* 1 when glibc's internal layout of file actions is one this code reads (see the .c). */
int fa_spawn_actions_readable(void);
/* 1 when the file actions close `fd` or put another file there (dup2, open, closefrom),
 * so what the parent has at `fd` does not pass into the child. */
int fa_spawn_actions_touch(const posix_spawn_file_actions_t *a, int fd);

#endif
