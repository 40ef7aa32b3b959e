/* backtrace.h: stack capture with libunwind, without the auditor's own frames. */
#ifndef FA_BACKTRACE_H
#define FA_BACKTRACE_H

#include <stdint.h>

/* Sets libunwind's per-thread cache and learns the auditor's own code range. Safe to call
 * more than once. */
void fa_backtrace_init(void);
/* Fills `pc` with up to `max` return addresses of the calling thread, innermost first,
 * skipping every frame inside the auditor. Returns the count (0 when unwinding fails). */
int fa_backtrace(uintptr_t *pc, int max);
/* 1 when `pc` lies in the auditor's own code. */
int fa_is_auditor_pc(uintptr_t pc);

#endif
