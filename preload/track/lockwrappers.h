/* lockwrappers.h: the code ranges of the program's lock wrappers (std::mutex::lock, a
 * lock_guard's constructor, __gthread_mutex_lock at -O0, an in-house Mutex::lock()), so
 * that a lock taken through one is placed at the wrapper's caller. Filled once, before the
 * program's second thread exists (out/lockwrapper_names.c finds them); read on the lock
 * path without locks. */
#ifndef FA_LOCKWRAPPERS_H
#define FA_LOCKWRAPPERS_H

#include <stdint.h>

/* Ranges kept; a program with more wrapper functions keeps the first ones found. */
#define FA_LOCKWRAP_MAX 256

/* Adds [lo, hi) before fa_lockwrap_publish; ignored after it. */
void fa_lockwrap_add(uintptr_t lo, uintptr_t hi);
/* Sorts the ranges and makes them visible to fa_lockwrap_has; returns how many. */
int fa_lockwrap_publish(void);
/* 1 when the published ranges exist (some lock wrapper was found). */
int fa_lockwrap_any(void);
/* 1 when `pc` (a return address) lies in a lock wrapper. Lock-free, async-signal-safe. */
int fa_lockwrap_has(uintptr_t pc);

/* Frame sizes learned by unwinding once, so that later acquisitions walk past the wrappers
 * with a few loads: for a return address `pc` into a wrapper, the distance from the stack
 * pointer of that frame to its caller's (`size`). `anchor` keeps, per call site, the distance
 * from the slow path's frame to the wrapper's stack pointer. Lock-free; 0 when unknown. */
int fa_lockwrap_size(uintptr_t pc, uintptr_t *size);
void fa_lockwrap_learn_size(uintptr_t pc, uintptr_t size);
int fa_lockwrap_anchor(uintptr_t pc, uintptr_t *distance);
void fa_lockwrap_learn_anchor(uintptr_t pc, uintptr_t distance);

#endif
