/* process.h: process-wide state that every forked child resets (its pid, its log file, its
 * fork count, its snapshot and symbolizer mappings), the pid and tid, and the per-thread
 * flags of the auditor. The process state lives in one aligned struct so the child's
 * resets dirty a single page: one copy-on-write fault per fork instead of one per module,
 * on the path the parent waits for. Each field is owned by the module named; the child's
 * resets are listed in audit/lifecycle.c (reset_in_child). */
#ifndef FA_PROCESS_H
#define FA_PROCESS_H

#include <sys/types.h>

#include "base/fa.h"

struct fa_process {
    pid_t pid;               /* process.c: cached getpid(), 0 until known */
    int log_fd;              /* log.c: the log file of this process, -1 when not open */
    pid_t log_pid;           /* log.c: the pid that opened log_fd */
    dev_t log_dev;           /* log.c: identity of the log file, to recognise it */
    ino_t log_ino;
    unsigned long fork_seq;  /* audit.c: forks audited in this process */
    void *arena;             /* snapshot.c: reusable snapshot mapping (MADV_DONTFORK), its busy flag first */
    void *symbolizer;        /* symbolize.c: its state mapping (MADV_DONTFORK) */
    int no_unwind;           /* backtrace.c: a forked child of a multithreaded process */
    int forked_child;        /* lifecycle.c: this process is a child made by fork */
    unsigned long born_seq;  /* ...by its parent's fork number born_seq */
    pid_t born_tid;          /* ...called by the parent's thread born_tid */
    pid_t born_parent;       /* ...of the parent process born_parent (0: unknown) */
    const char *born_via;    /* ...through "fork" or "atfork" */
    unsigned long errors;    /* findings: error findings this process reported (exitcode) */
} __attribute__((aligned(64)));

extern struct fa_process fa_proc;

/* The kernel tid of the calling thread (a system call: callers cache it). */
pid_t fa_gettid(void);
/* The pid of this process, cached: refreshed in every child the auditor sees. */
pid_t fa_getpid(void);
/* Re-reads the pid; returns 1 when it differs from the cached one (a child made by _Fork
 * or a raw clone, which run no atfork handlers, or one the fork handlers are resetting),
 * 0 when unchanged or not yet known. Async-signal-safe. */
int fa_pid_refresh(void);
/* Copies n bytes at `addr` of this process into `out` with process_vm_readv: a bad or
 * unmapped address fails (-1) instead of faulting. Async-signal-safe. */
int fa_read_memory(void *out, uintptr_t addr, size_t n);

struct fa_thread; /* track/threads.h */

/* Per-thread state, one TLS block so the hot path computes its address once. */
struct fa_tls {
    struct fa_thread *self; /* the calling thread's slot (track/threads.c), or NULL when it
                             * has none yet */
    int in_auditor;         /* > 0 while the auditor's own code runs on this thread (in
                             * every thread, tracked or not): wrappers entered from there
                             * (libunwind's locks and pipes) only forward the call */
    int in_symbolizer;      /* this thread holds the symbolizer's lock */
};
extern FA_TLS struct fa_tls fa_tls;
#define fa_self (fa_tls.self)
#define fa_in_auditor (fa_tls.in_auditor)

#endif
