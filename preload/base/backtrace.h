/* backtrace.h: stack capture with libunwind, without the auditor's own frames. */
#ifndef FA_BACKTRACE_H
#define FA_BACKTRACE_H

#include <stdint.h>
#include <sys/types.h>

/* Flags on the last pc of a captured stack (user-space code addresses never have these
 * bits): the stack is not whole. Mask with fa_pc() before using a pc as an address. */
#define FA_PC_MORE ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))   /* deeper frames left out: the
                                                                     depth limit, or the call site only */
#define FA_PC_ASTRAY ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 2)) /* the unwinder went astray past
                                                                     this frame (junk return address) */
#define FA_PC_FLAGS (FA_PC_MORE | FA_PC_ASTRAY)
static inline uintptr_t fa_pc(uintptr_t pc) { return pc & ~FA_PC_FLAGS; }

/* Learns the auditor's own code range (libunwind itself is set up, with its per-thread
 * cache, by the first unwind). Safe to call more than once. */
void fa_backtrace_init(void);
/* Fills `pc` with up to `max` return addresses of the calling thread, innermost first,
 * skipping every frame inside the auditor. Returns the count. The last pc carries
 * FA_PC_MORE when frames were left out, FA_PC_ASTRAY when the unwinder's next "frame" was
 * no code address (a frame without unwind information, guessed from junk). `call_site` (the return
 * address into the program, 0 if unknown) stands alone when unwinding fails or is not
 * allowed: in a forked child of a multithreaded process, before exec, libunwind (locks,
 * mmap, dl_iterate_phdr) is not async-signal-safe and is not used. */
int fa_backtrace(uintptr_t *pc, int max, const void *call_site);
/* fa_backtrace even in a child where unwinding is forbidden: for a caller that knows
 * libunwind's state is whole (no thread was unwinding at the fork, see fa_unwinders). */
int fa_backtrace_unchecked(uintptr_t *pc, int max, const void *call_site);
/* The calling thread's frames from the caller's own, the auditor's included: each
 * frame's pc and its stack pointer (the callee's canonical frame address), for learning
 * frame sizes. Returns the count, 0 where fa_backtrace gives the call site only. */
int fa_backtrace_with_sp(uintptr_t *pc, uintptr_t *sp, int max);
/* Before the program's first thread: libunwind's pipe is made now and kept from then on. */
void fa_backtrace_threads_coming(void);
/* Another thread's stack, from its registers in `context` (a ucontext_t, libunwind's
 * unw_context_t on x86-64) while that thread is stopped: innermost first, the auditor's
 * frames skipped, flags on the last pc as for fa_backtrace. 0 when not unwound. */
int fa_backtrace_from_context(uintptr_t *pc, int max, void *context);
/* For a stack unwound in a signal handler: drops the frames up to and including the
 * signal-return trampoline `restorer` (the handler's sa_restorer), so the stack starts at
 * the interrupted code. Returns the new count; unchanged when the trampoline is absent. */
int fa_backtrace_drop_handler(uintptr_t *pc, int n, uintptr_t restorer);
/* Threads inside libunwind right now, process-wide. */
extern int fa_unwinders;
/* From now on in this process, only call sites: see fa_backtrace. Async-signal-safe. */
void fa_backtrace_forbid_unwinding(void);
/* 1 when `pc` lies in the auditor's own code. */
int fa_is_auditor_pc(uintptr_t pc);
/* 1 when `pc` lies in libunwind's code: a wrapped call libunwind made itself (its pipe,
 * its locks), perhaps for another library that unwinds (tcmalloc). Such calls are never
 * unwound (it would re-enter libunwind under its own lock) and the descriptors it opens
 * are the unwinder's, not the program's. */
int fa_is_unwinder_pc(uintptr_t pc);
/* The program took one of libunwind's pipe descriptors (dup2 onto it): from now on this
 * process's stacks are call sites only. */
void fa_backtrace_pipe_taken(void);
/* The pipe libunwind just made for itself (our pipe/pipe2 wrappers; `fds` is libunwind's
 * own pair): `ours` when made inside one of our unwinds, then checked before every unwind
 * (see fa_backtrace_pipe_taken) and closed after the last unwind in progress; else
 * another user of libunwind made it, and it stays. */
void fa_backtrace_pipe_made(int fds[2], int ours);
/* 1 when (dev, ino) is libunwind's pipe as last made for our unwinds. */
int fa_backtrace_is_unwinder_pipe(dev_t dev, ino_t ino);
/* In a forked child: closes libunwind's pipe when another thread's unwind had it open. */
void fa_backtrace_after_fork_child(void);

#endif
