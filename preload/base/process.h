/* process.h: process-wide state that every forked child resets (its pid, its log file, its
 * fork count, its snapshot and symbolizer mappings). It lives in one aligned struct so the
 * child's resets dirty a single page: one copy-on-write fault per fork instead of one per
 * module, on the path the parent waits for. Each field is owned by the module named. */
#ifndef FA_PROCESS_H
#define FA_PROCESS_H

#include <sys/types.h>


struct fa_process {
    pid_t pid;               /* threads.c: cached getpid(), 0 until known */
    int log_fd;              /* log.c: the log file of this process, -1 when not open */
    pid_t log_pid;           /* log.c: the pid that opened log_fd */
    dev_t log_dev;           /* log.c: identity of the log file, to recognise it */
    ino_t log_ino;
    unsigned long fork_seq;  /* audit.c: forks audited in this process */
    void *arena;             /* audit.c: reusable snapshot mapping (MADV_DONTFORK), its busy flag first */
    void *symbolizer;        /* symbolize.c: its state mapping (MADV_DONTFORK) */
    int no_unwind;           /* backtrace.c: a forked child of a multithreaded process */
    int forked_child;        /* interpose_fork.c: this process is a child made by fork */
    unsigned long born_seq;  /* ...by its parent's fork number born_seq */
    pid_t born_tid;          /* ...called by the parent's thread born_tid */
    pid_t born_parent;       /* ...of the parent process born_parent (0: unknown) */
    const char *born_via;    /* ...through "fork" or "atfork" */
    unsigned long errors;    /* report.c: error findings this process reported (exitcode) */
} __attribute__((aligned(64)));

extern struct fa_process fa_proc;

#endif
