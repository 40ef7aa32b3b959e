/* watchdog.h: option child_watchdog. A forked child of a multithreaded parent arms a POSIX
 * timer (timer_create(2), SIGEV_THREAD_ID, the stacks signal) at the fork; when it fires
 * and the child's only thread is blocked in an untimed futex wait (a lock no wrapper saw:
 * GMutex, raw futexes, glibc-internal locks), the child writes a child-stuck record: how
 * long, its stack, the parent's threads at that fork with their stacks, the locks they
 * held, and the likely culprit. A child that computes, sleeps or waits on I/O is checked
 * again later, each delay twice the one before (at most an hour). The timer dies with
 * exec and is not inherited by fork (timer_create(2)). */
#ifndef FA_WATCHDOG_H
#define FA_WATCHDOG_H

#include <signal.h>

#include "snapshot.h"

/* Parent, just before the fork: remembers the other threads' stacks for the child. */
void fa_watchdog_remember(const struct fa_snapshot *s);
/* Child, right after the fork (async-signal-safe): arms the timer when the parent had
 * other threads and the stacks signal is ours. */
void fa_watchdog_arm_in_child(int parent_had_threads);
/* From the stacks signal handler, for a signal sent by the timer (SI_TIMER). */
void fa_watchdog_on_timer(const siginfo_t *info, void *ucontext);

#endif
