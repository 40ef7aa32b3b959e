/* lifecycle.h: the fork protocol: what the auditor does around every fork, in the parent
 * and in the child, and the child's reset of every module's per-process state. The fork()
 * wrapper (intercept/fork.c) and our atfork handlers both drive it. */
#ifndef FA_LIFECYCLE_H
#define FA_LIFECYCLE_H

#include <sys/types.h>

struct fa_snapshot;
struct fa_thread;

/* Registers our prepare, parent and child handlers through `register_atfork` (the real
 * __register_atfork: ours would only forward them). At start-up, once. */
void fa_fork_register_handlers(int (*register_atfork)(void (*prepare)(void), void (*parent)(void),
                                                      void (*child)(void), void *dso));

/* The fork() wrapper, in a tracked thread outside the auditor, just before the real fork:
 * the snapshot of this fork (NULL: it goes unaudited). `call_site` is the return address
 * into the program. Our atfork handlers then stand aside for this fork. */
struct fa_snapshot *fa_fork_wrapper_before(const void *call_site);
/* The fork() wrapper just after the real fork returned `pid`, in the parent (the records
 * of the fork, or nothing when it failed) or in the child (our child handler already
 * reset it). Changes errno: the caller keeps the fork's. */
void fa_fork_wrapper_after(struct fa_thread *self, struct fa_snapshot *s, pid_t pid);

/* In a child made without our fork handlers (_Fork, raw clone): does their resets now.
 * Async-signal-safe. */
void fa_fork_reset_if_new_process(void);

#endif
