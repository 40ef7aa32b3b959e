/* threadstacks.h: what every other thread was doing at the fork. The forking thread sends
 * each one a signal (option stack_signal, a real-time signal the program does not use);
 * the handler unwinds the interrupted thread; the forking thread waits for the answers at
 * most FA_STACKS_WAIT_MS, never longer. A thread that blocks the signal is not sent it; one
 * that is stopped is reported as not answering. Off by default (stack_signal=0): the
 * signal interrupts the other threads' blocking calls (EINTR) and sigwait()ers see it. */
#ifndef FA_THREADSTACKS_H
#define FA_THREADSTACKS_H

#include "audit/snapshot.h"

#define FA_STACKS_WAIT_MS 100

/* Prepares the calling thread to be unwound in a signal handler (stack_signal, dump_signal) (libunwind's first
 * unwind on a thread allocates). Called where a thread starts, with no lock held. */
void fa_thread_stacks_warm(void);
/* In a signal handler: 1 when the interrupted thread may be unwound here (its libunwind
 * state exists, it is not inside the auditor, not on an alternate signal stack). Note
 * that fa_in_auditor must not be raised yet by the caller. */
int fa_thread_stacks_may_unwind_here(void);
/* Fills stack_state/nstack/stack of every entry of s->threads. */
void fa_thread_stacks_collect(struct fa_snapshot *s);
/* In a forked child: a collection the parent had in progress is not the child's. */
void fa_thread_stacks_after_fork_child(void);

#endif
