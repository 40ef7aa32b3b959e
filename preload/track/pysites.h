/* pysites.h: where in Python a descriptor was opened. When a thread running Python (it has
 * a thread state, the call comes from the interpreter's code) opens a pipe, a socket or a
 * file for writing, faulthandler's async-signal-safe writer dumps its Python stack and
 * the frames a reader needs are kept: the innermost ones down to the program's own frame.
 * Read-only files and directories (every import opens a few), accepted connections and
 * dups are not walked: the walk costs a write per frame line.
 *
 * A descriptor opened under the standard library's multiprocessing or concurrent.futures
 * is the runtime's own (its pipes, queues and sentinels, shared with its workers by
 * design): the fork audit leaves it out of the findings. */
#ifndef FA_PYSITES_H
#define FA_PYSITES_H

#include <stddef.h>
#include <sys/stat.h>

#define FA_PYSITES 256      /* descriptors with a Python opening site kept at once */
#define FA_PYSITE_TEXT 768  /* the kept frames, in faulthandler's format (out/pystack.h) */
#define FA_PYSITE_FRAMES 8  /* at most this many of them */
/* Stacks dumped per process at most: a dump costs a write system call per frame line
 * (about 0.1 ms for 20 frames), so a program that opens pipes or sockets by the thousand
 * pays for the first ones only; later descriptors have their native site alone. */
#define FA_PYSITES_WALKS 2048

struct fa_pysite {
    unsigned len;           /* bytes of text */
    int runtime;            /* opened by multiprocessing's or concurrent.futures' machinery */
    char text[FA_PYSITE_TEXT];
};

/* After the interposed call that created `fd` (identity `st`, called from `call_site`):
 * the site's slot number + 1, or 0 when none was kept (not Python, no Python thread
 * state, a read-only file). Keeps errno. */
int fa_pysites_capture(int fd, const struct stat *st, const char *opened_by, const void *call_site);

/* Copies slot `id` (as returned above) into `out` when it still belongs to `fd` with
 * identity (dev, ino); returns 1 then, else 0. */
int fa_pysites_get(int id, int fd, dev_t dev, ino_t ino, struct fa_pysite *out);

#endif
