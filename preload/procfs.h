/* procfs.h: read a whole /proc file with system calls only (async-signal-safe). */
#ifndef FA_PROCFS_H
#define FA_PROCFS_H

#include "fmt.h"

/* Reads `path` into a new mapped buffer `b` (NUL-terminated; release it with
 * fa_buf_release). Returns 0, or -1 when the file cannot be opened or mapped. */
int fa_proc_read(const char *path, struct fa_buf *b);

#endif
