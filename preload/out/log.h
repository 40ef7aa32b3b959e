/* log.h: where records go. One write(2) per record, so records of different processes
 * and threads never interleave; the file is opened lazily in each process. */
#ifndef FA_LOG_H
#define FA_LOG_H

#include <stddef.h>

#include "base/options.h"

void fa_log_init(const struct fa_options *o);
/* Takes what stdout and stderr are now as the ones the log may write to (start-up does;
 * a unit test that moves stderr onto a file to capture records does too). */
void fa_log_take_stdio(void);
/* Writes one complete record (already newline-terminated). Async-signal-safe. */
void fa_log_write(const char *p, size_t n);
/* The log's descriptor when it is a file this process opened, else -1 (fd reports skip it). */
int fa_log_own_fd(void);
/* In a forked child: forget (close) the parent's log file so the child opens its own. */
void fa_log_after_fork_child(void);
/* Records dropped (the log, a pipe or FIFO, would have blocked) and not yet said in this
 * process; the fork note says them and calls fa_log_note_carries(n) before it is written:
 * once it is, they count as said. */
unsigned long fa_log_dropped_unsaid(void);
void fa_log_note_carries(unsigned long n);
/* At exit: says the records dropped and never said, on stderr (not into a JSON log). */
void fa_log_at_exit(void);
/* Writes "line\n" to stderr: start-up diagnostics about options. Never blocks on a pipe. */
void fa_diag_stderr(const char *line, void *ctx);

#endif
