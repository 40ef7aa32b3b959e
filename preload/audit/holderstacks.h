/* holderstacks.h: the stacks of the threads that hold a lock at a fork, by default and
 * without a signal (stack_signal=0). A short-lived helper process, made with clone()
 * (CLONE_VM, no exit signal: the program sees no SIGCHLD, its wait() never reaps it, and
 * it has no descriptor), ptrace-seizes and interrupts each holder: a ptrace stop runs no
 * handler, so interrupted calls restart (nanosleep and poll with their remaining time) and
 * nothing returns EINTR. The helper hands the registers back through the shared memory;
 * the forking thread unwinds each stopped stack in-process with libunwind, then the
 * helper detaches and exits; it is reaped before the real fork, so the fork's child never
 * sees it. Degrades to a reason in holder_stack_at_fork_missing (ptrace refused, already
 * traced, stopped thread, no helper). x86-64 only. */
#ifndef FA_HOLDERSTACKS_H
#define FA_HOLDERSTACKS_H

#include "audit/snapshot.h"

/* Fills stack_state/nstack/stack of the entries of s->threads that hold a lock of
 * s->locks and were not asked yet (stack_state FA_STACK_NONE). Not in a signal handler. */
void fa_holder_stacks_collect(struct fa_snapshot *s);

#endif
