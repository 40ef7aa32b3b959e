/* audit.h: the fork-time audit: snapshot before the fork, report after it. */
#ifndef FA_AUDIT_H
#define FA_AUDIT_H

#include "audit/snapshot.h"

/* Captures the state of the process as the calling thread is about to fork; `call_site`
 * is the return address into the program (0 if unknown). Returns NULL (and the fork goes
 * on unaudited) when memory for the snapshot cannot be mapped. With a call site (the fork
 * wrapper, which calls fa_audit_finish from the same frame) the forking thread's stack is
 * unwound there, and only when a record will show it. */
struct fa_snapshot *fa_audit_begin(const char *via, const void *call_site);
/* In the parent after the fork: drops locks that atfork prepare handlers took on purpose,
 * writes the records, frees the snapshot. `child` <= 0 when unknown or failed. */
void fa_audit_finish(struct fa_snapshot *s, pid_t child);
/* Describes descriptor `fd` (entry `name` of the open /proc/self/fd directory `dirfd`) as
 * the next entry of s->fds: target, type, access, close-on-exec (from `fdflags`, or read
 * when it is -1), offset, opening site. Skips the auditor's own. Returns 1 when added. */
int fa_audit_add_fd(struct fa_snapshot *s, int dirfd, const char *name, long fd, long fdflags);

/* The program's open descriptors numbered above `last`, when a walk of /proc/self/fd
 * (open as `dirfd`) has listed `seen` entries, all of them up to `last`: from the
 * directory's size (Linux 6.2+), less the auditor's own (the directory, the log
 * `log_fd`, libunwind's pipe). -1 when the kernel does not say. */
long fa_audit_fds_unlisted(int dirfd, long seen, long last, int log_fd);

/* A state dump (dump_signal, in its handler; async-signal-safe): the receiving thread's
 * stack when `unwind` (`restorer`, the signal-return trampoline, dropped from its top),
 * the held locks of every thread (those of threads of ancestor processes too), the other
 * threads, their stacks when stack_signal is set. Uses the process's arena only: NULL when
 * a fork audit or another dump has it (*busy = 1) or it cannot be mapped (*busy = 0).
 * Release with fa_audit_discard. */
struct fa_snapshot *fa_audit_state(int unwind, uintptr_t restorer, int *busy);

/* The fork failed: frees the snapshot, and the fork does not count. */
void fa_audit_cancel(struct fa_snapshot *s);
/* Frees the snapshot without reporting. In a child it must not be called: the snapshot
 * memory does not exist there (MADV_DONTFORK); call fa_audit_after_fork_child. */
void fa_audit_discard(struct fa_snapshot *s);
/* In the child: the next fork is this process's fork #1; the parent's snapshots are gone.
 * Async-signal-safe. */
void fa_audit_after_fork_child(void);

#endif
