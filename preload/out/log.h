/* log.h: where records go. One write(2) per record, so records of different processes
 * and threads never interleave; the file is opened lazily in each process. */
#ifndef FA_LOG_H
#define FA_LOG_H

#include <stddef.h>

#include "base/options.h"

void fa_log_init(const struct fa_options *o);
/* Writes one complete record (already newline-terminated). Async-signal-safe. */
void fa_log_write(const char *p, size_t n);
/* The log's descriptor when it is a file this process opened, else -1 (fd reports skip it). */
int fa_log_own_fd(void);
/* In a forked child: forget (close) the parent's log file so the child opens its own. */
void fa_log_after_fork_child(void);
/* Writes "line\n" to stderr: start-up diagnostics about options. */
void fa_diag_stderr(const char *line, void *ctx);

#endif
