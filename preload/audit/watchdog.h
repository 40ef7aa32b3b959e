/* watchdog.h: option child_watchdog. A forked child of a multithreaded parent arms a POSIX
 * timer (timer_create(2), SIGEV_THREAD_ID, SIGURG) at the fork; when two looks one period
 * apart find the child's only thread blocked in the same untimed private futex wait (a lock no wrapper saw:
 * GMutex, raw futexes, glibc-internal locks), the child writes a child-stuck record
 * (findings/child_stuck.c): how long, its stack, the parent's threads at that fork with
 * their stacks, the locks they held, and the likely culprit. A child that computes, sleeps or waits on I/O is checked
 * again later, each delay twice the one before (at most an hour). The timer dies with
 * exec and is not inherited by fork (timer_create(2)). */
#ifndef FA_WATCHDOG_H
#define FA_WATCHDOG_H

#include <signal.h>

#include "audit/snapshot.h"
#include "findings/child_stuck.h" /* struct fa_futex_wait, fa_remembered_thread */

/* The futex wait the interrupted thread will resume (`ucontext`: a signal handler's third
 * argument), when it is an untimed private one: 1 and *w set, else 0. Pure: reads the
 * saved registers and the instruction at the saved program counter only. */
int fa_untimed_futex_wait(const void *ucontext, struct fa_futex_wait *w);

/* Parent, just before the fork: remembers the other threads' stacks for the child. */
void fa_watchdog_remember(const struct fa_snapshot *s);
/* Child, right after the fork (async-signal-safe): arms the timer when the parent had
 * other threads and the stacks signal is ours. */
void fa_watchdog_arm_in_child(int parent_had_threads);
/* Parent, after the fork (or its failure): at_fork is free for the next fork. */
void fa_watchdog_forget(pid_t forking_tid);


#endif
